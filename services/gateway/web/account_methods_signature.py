"""Các phương thức xác thực → Thêm mới a Sim ký số or a USB ký số (``POST /me/auth-methods``
``{type: "sim", phone}`` / ``{type: "usb"}``), with the signing screens the registration and
the login use (``signing.py``).

SIM: the waiting screen shows the verification code; the read of the flow that sees the
approval on the phone adds the method (``me_method_get``), whichever read that is (the
script's poll or the page's reload). USB: the local agent signs the challenge and the page
posts the signature here (``me_method_signature``). The flow lives in the ``method`` flow
cookie, as the SMS phone's does; the account becomes level 3 once the certificate is added.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.gateway.dependencies import Client, Rpc
from services.gateway.web.account import call_as_owner
from services.gateway.web.account_methods import PAGE, _methods_page
from services.gateway.web.guards import (
    FLOW_GONE_CODES,
    STEP_UP_CODES,
    CheckedForm,
    MethodFlow,
    PageProblem,
    flow_gone,
    step_up_redirect,
)
from services.gateway.web.rendering import FormErrors, form_values, redirect
from services.gateway.web.security import WebFlow, forget_flow, read_flow, remember_flow
from services.gateway.web.signing import (
    failed_detail,
    poll_answer,
    show_sim_waiting,
    show_usb_signing,
    signed_payload,
)
from shared.rpc import RemoteError, ServiceUnavailable

router = APIRouter(prefix=PAGE, include_in_schema=False)

SIM_START = f"{PAGE}/them-sim"
SIM_WAITING = f"{PAGE}/sim-ky-so"
SIM_STATUS = f"{PAGE}/sim-ky-so/trang-thai"
USB_START = f"{PAGE}/them-usb"
USB_SIGN = f"{PAGE}/usb-ky-so"
ADDED = f"{PAGE}?tb=da-them"
# The SIM form's phone field, named apart from the SMS form's on the same page.
SIM_PHONE = "sim_phone"
WAITING_HEADING = "Xác nhận thêm Sim ký số trên điện thoại"


@router.post("/them-sim", response_class=HTMLResponse)
async def start_sim(request: Request, form: CheckedForm, rpc: Rpc, client: Client) -> Response:
    values, errors = form_values(form, (SIM_PHONE,))
    if not errors and not values.get(SIM_PHONE):
        errors = FormErrors.invalid({SIM_PHONE: "Vui lòng nhập số điện thoại có Sim ký số."})
    if errors:
        return await _methods_page(request, rpc, values=values, errors=errors)
    try:
        started: dict[str, Any] = await call_as_owner(
            request, rpc, "me_add_method",
            {"type": "sim", "phone": values[SIM_PHONE]} | client.as_payload())
    except (RemoteError, ServiceUnavailable) as exc:
        stepping_up = step_up_redirect(exc, PAGE)
        if stepping_up is not None:
            return stepping_up
        errors = FormErrors.of(exc, ("phone",))
        for detail in errors.fields.pop("phone", []):  # the service's name for the field
            errors.add(SIM_PHONE, detail)
        if errors.code in {"validation_error", "invalid_phone"} and not errors.fields \
                and errors.detail:
            errors.add(SIM_PHONE, errors.detail)
        return await _methods_page(request, rpc, values=values, errors=errors)
    return _started(request, started, SIM_WAITING,
                    verification_code=started.get("verification_code"))


@router.get("/sim-ky-so", response_class=HTMLResponse)
async def sim_waiting(request: Request, flow: MethodFlow, rpc: Rpc) -> Response:
    try:
        view = await _read(request, rpc, flow)
    except (RemoteError, ServiceUnavailable) as exc:
        if isinstance(exc, RemoteError) and exc.code in FLOW_GONE_CODES:
            raise flow_gone("method") from exc
        stepping_up = step_up_redirect(exc, PAGE)  # the step-up lapsed while waiting
        if stepping_up is not None:
            forget_flow(request, stepping_up, "method")
            return stepping_up
        return _sim_page(request, flow, FormErrors.of(exc, ()))
    status = str(view.get("status"))
    if status == "awaiting_signature":
        return _sim_page(request, flow)
    if status == "failed":
        raise _failed(view.get("code"))
    return _done(request)


@router.get("/sim-ky-so/trang-thai")
async def sim_status(request: Request, rpc: Rpc) -> JSONResponse:
    """For the waiting screen's script; the read that sees the approval adds the method."""
    flow = read_flow(request, "method")
    if flow is None:
        return poll_answer("gone", PAGE)
    try:
        view = await _read(request, rpc, flow)
    except RemoteError as exc:
        if exc.code in FLOW_GONE_CODES or exc.code in STEP_UP_CODES:
            return poll_answer("gone", SIM_WAITING)  # that page says why, or steps up
        return poll_answer("unknown")
    except ServiceUnavailable:
        return poll_answer("unknown")  # busy: the script asks again
    status = str(view.get("status"))
    if status == "awaiting_signature":
        return poll_answer(status)
    if status == "failed":
        return poll_answer(status, SIM_WAITING)  # that page says why
    response = poll_answer(status, ADDED)
    forget_flow(request, response, "method")
    return response


@router.post("/them-usb", response_class=HTMLResponse)
async def start_usb(request: Request, form: CheckedForm, rpc: Rpc, client: Client) -> Response:
    try:
        started: dict[str, Any] = await call_as_owner(request, rpc, "me_add_method",
                                                      {"type": "usb"} | client.as_payload())
    except (RemoteError, ServiceUnavailable) as exc:
        return step_up_redirect(exc, PAGE) or await _methods_page(
            request, rpc, errors=FormErrors.of(exc, ()))
    return _started(request, started, USB_SIGN, challenge=started.get("challenge"))


@router.get("/usb-ky-so", response_class=HTMLResponse)
async def usb_signing(request: Request, flow: MethodFlow) -> HTMLResponse:
    return _usb_page(request, flow)


@router.post("/usb-ky-so", response_class=HTMLResponse)
async def submit_usb_signature(request: Request, form: CheckedForm, flow: MethodFlow,
                               rpc: Rpc) -> Response:
    payload, errors = signed_payload(form)
    if errors:
        return _usb_page(request, flow, errors)
    try:
        await call_as_owner(request, rpc, "me_method_signature",
                            {"id": flow.id, "flow_token": flow.token} | payload)
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ())
        if errors.code in FLOW_GONE_CODES:
            raise flow_gone("method") from exc
        return _usb_page(request, flow, errors)
    return _done(request)


def _started(request: Request, started: dict[str, Any], page: str, **shown: Any) -> Response:
    flow = WebFlow("method", str(started["id"]), str(started["flow_token"]),
                   phone_masked=started.get("phone_masked"), **shown)
    response = redirect(page)
    remember_flow(request, response, flow)
    return response


def _done(request: Request) -> Response:
    response = redirect(ADDED)
    forget_flow(request, response, "method")
    return response


def _sim_page(request: Request, flow: WebFlow, errors: FormErrors | None = None) -> HTMLResponse:
    return show_sim_waiting(request, flow, heading=WAITING_HEADING, action=SIM_WAITING,
                            status_url=SIM_STATUS, back=PAGE, errors=errors)


def _usb_page(request: Request, flow: WebFlow, errors: FormErrors | None = None) -> HTMLResponse:
    return show_usb_signing(request, flow, USB_SIGN, heading="Thêm USB ký số", back=PAGE,
                            errors=errors)


async def _read(request: Request, rpc: Rpc, flow: WebFlow) -> dict[str, Any]:
    view: dict[str, Any] = await call_as_owner(request, rpc, "me_method_get",
                                               {"id": flow.id, "flow_token": flow.token})
    return view


def _failed(code: Any) -> PageProblem:
    detail = ("Chứng thư số này không phải của chủ tài khoản." if code == "forbidden"
              else failed_detail(code))
    return PageProblem(400, "Chưa thêm được phương thức xác thực", detail, link=PAGE,
                       link_text="Về trang phương thức xác thực", forget="method")
