"""Đăng ký bằng Bảo hiểm xã hội (citizens): the form of the BHXH method; the OTP and password
steps that follow are the registration's own (``registration.py``).

The registration service compares what is typed with the BHXH registry's record; its refusals
(``bhxh_not_found``, ``bhxh_mismatch``, ``bhxh_phone_mismatch``) are shown as it words them,
which names no field of the record and no value: the page reveals nothing the person did not
type.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.dependencies import Rpc
from services.gateway.web.dates import form_with_date, with_date_errors
from services.gateway.web.guards import CheckedForm
from services.gateway.web.registration import SERVICE, STEP_PAGES
from services.gateway.web.rendering import FormErrors, redirect, render
from services.gateway.web.security import WebFlow, remember_flow
from shared.rpc import RemoteError, ServiceUnavailable

PATH = "/dang-ky/cong-dan/bao-hiem-xa-hoi"
BHXH_FIELDS = ("bhxh_code", "id_number", "full_name", "birth_date", "phone")
TEMPLATE = "register_bhxh.html"
router = APIRouter(include_in_schema=False)


@router.get(PATH, response_class=HTMLResponse)
async def bhxh_form(request: Request) -> HTMLResponse:
    return render(request, TEMPLATE, values={})


@router.post(PATH, response_class=HTMLResponse)
async def start_bhxh(request: Request, form: CheckedForm, rpc: Rpc) -> Response:
    values, shown, errors, born = form_with_date(form, BHXH_FIELDS)
    if errors:
        return render(request, TEMPLATE, values=shown, errors=errors)
    try:
        started: dict[str, Any] = await rpc.call(
            SERVICE, "start", {"subject_type": "citizen", "method": "bhxh"} | values)
    except (RemoteError, ServiceUnavailable) as exc:
        refusal = with_date_errors(_refusal(exc), born, "birth_date", BHXH_FIELDS)
        return render(request, TEMPLATE, values=shown, errors=refusal)
    flow = WebFlow("registration", str(started["id"]), str(started["flow_token"]),
                   phone_masked=started.get("phone_masked"),
                   resend_available_at=started.get("resend_available_at"))
    response = redirect(STEP_PAGES.get(str(started.get("status")), "/dang-ky/otp"))
    remember_flow(request, response, flow)
    return response


def _refusal(exc: RemoteError | ServiceUnavailable) -> FormErrors:
    errors = FormErrors.of(exc, BHXH_FIELDS)
    # An unknown code is about the code alone: beside it. A mismatch names no field (which
    # one differs is the registry's secret), so it stays above the form.
    if errors.code == "bhxh_not_found" and not errors.fields and errors.detail:
        errors.add("bhxh_code", errors.detail)
    # A phone that is not the person's is about the phone alone: beside it.
    if errors.code == "bhxh_phone_mismatch" and not errors.fields and errors.detail:
        errors.add("phone", errors.detail)
    return errors
