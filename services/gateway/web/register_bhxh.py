"""Đăng ký bằng Bảo hiểm xã hội (citizens): the form of the BHXH method; the OTP and password
steps that follow are the registration's own (``registration.py``).

The registration service compares what is typed with the BHXH registry's record; its refusals
(``bhxh_not_found``, ``bhxh_mismatch``, ``bhxh_phone_mismatch``) are shown as it words them,
which names no field of the record and no value: the page reveals nothing the person did not
type.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.dependencies import Rpc
from services.gateway.web.guards import CheckedForm
from services.gateway.web.registration import SmsForm, start_by_sms
from services.gateway.web.rendering import FormErrors, render
from shared.contracts import registration as REG
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
    return await start_by_sms(request, form, rpc, SmsForm(
        REG.BhxhStart, "bhxh", BHXH_FIELDS, TEMPLATE, refusal=_refusal))


def _refusal(exc: RemoteError | ServiceUnavailable, fields: tuple[str, ...]) -> FormErrors:
    errors = FormErrors.of(exc, fields)
    # An unknown code is about the code alone: beside it. A mismatch names no field (which
    # one differs is the registry's secret), so it stays above the form.
    if errors.code == "bhxh_not_found" and not errors.fields and errors.detail:
        errors.add("bhxh_code", errors.detail)
    # A phone that is not the person's is about the phone alone: beside it.
    if errors.code == "bhxh_phone_mismatch" and not errors.fields and errors.detail:
        errors.add("phone", errors.detail)
    return errors
