"""Xác thực lại: the step-up of the browser's session (``POST /api/v1/me/reauthentication``
and its steps), before a sensitive change of the account pages.

An account page whose change is refused with ``reauthentication_required`` (no step-up in the
last 5 minutes) or ``insufficient_assurance`` (a USB/SIM method needs a signature step-up)
sends the browser here with ``?tiep=<that page>``; once the session stepped up, the browser
goes back there and the person makes the change again. Password: the password, then the OTP
screen of the other flows. USB / SIM: the signing screens of ``signing.py``. The step-up's id
and the page to go back to live in the signed ``reauth`` flow cookie (the step-up itself is
bound to the session by profile, so the cookie holds no token).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.gateway.dependencies import Client, Rpc
from services.gateway.web.account import ACCOUNT_PAGES, call_as_owner, read_as_owner
from services.gateway.web.guards import (
    FLOW_GONE_CODES,
    STEP_UP_PAGE,
    CheckedForm,
    PageProblem,
    ReauthFlow,
    flow_gone,
)
from services.gateway.web.otp_screen import OtpEnd, OtpScreen, show_otp, show_refusal, typed_code
from services.gateway.web.rendering import MAX_FIELD_LENGTH, FormErrors, form_values, redirect, render
from services.gateway.web.security import WebFlow, forget_flow, read_flow, remember_flow
from services.gateway.web.signing import (
    failed_detail,
    poll_answer,
    show_sim_waiting,
    show_usb_signing,
    signed_payload,
)
from shared.rpc import RemoteError, ServiceUnavailable

PAGE = STEP_UP_PAGE
router = APIRouter(prefix=PAGE, include_in_schema=False)
DEFAULT_BACK = "/tai-khoan/phuong-thuc-xac-thuc"
BACK_PREFIXES = ("/tai-khoan", "/quay-buu-dien")
OTP = f"{PAGE}/otp"
USB_SIGN = f"{PAGE}/usb-ky-so"
SIM_WAITING = f"{PAGE}/sim-ky-so"
SIM_STATUS = f"{PAGE}/sim-ky-so/trang-thai"
SIM_PHONE = "sim_phone"
OTP_SCREEN = OtpScreen(heading="Xác thực lại: nhập mã OTP", action=OTP, resend_action=None,
                       back=PAGE, back_text="Quay lại",
                       ended=OtpEnd("Chưa xác thực lại được",
                                    "Mã OTP đã bị nhập sai quá 5 lần nên lần xác thực lại này "
                                    "đã dừng lại. Vui lòng xác thực lại từ đầu.",
                                    PAGE, "Xác thực lại"))


def safe_back(raw: str | None) -> str:
    """Only a page of this site that asks for step-ups (the account pages, the post-office
    counter): the step-up never sends the browser elsewhere."""
    value = (raw or "").strip()
    if (value.startswith(BACK_PREFIXES) and "//" not in value and "\\" not in value
            and len(value) <= 200 and value.isascii()):
        return value
    return DEFAULT_BACK


@router.get("", response_class=HTMLResponse)
async def step_up_page(request: Request, rpc: Rpc, tiep: str = "", muc: str = "") -> Response:
    return await _page(request, rpc, safe_back(tiep), signature_needed=muc == "3")


@router.post("", response_class=HTMLResponse)
async def start_password(request: Request, form: CheckedForm, rpc: Rpc,
                         client: Client) -> Response:
    back = safe_back(_text(form.get("tiep")))
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    if not password or len(password) > MAX_FIELD_LENGTH:
        return await _page(request, rpc, back, errors=FormErrors.invalid(
            {"password": "Vui lòng nhập mật khẩu." if not password else "Mật khẩu quá dài."}))
    try:
        started: dict[str, Any] = await call_as_owner(
            request, rpc, "me_reauth_start",
            {"method": "password", "password": password} | client.as_payload())
    except (RemoteError, ServiceUnavailable) as exc:
        return await _page(request, rpc, back, errors=FormErrors.of(exc, ("password",)))
    return _started(request, started, OTP, back)


@router.get("/otp", response_class=HTMLResponse)
async def otp_page(request: Request, flow: ReauthFlow) -> Response:
    return show_otp(request, OTP_SCREEN, flow)


@router.post("/otp", response_class=HTMLResponse)
async def submit_otp(request: Request, form: CheckedForm, flow: ReauthFlow,
                     rpc: Rpc) -> Response:
    code, problem = typed_code(form)
    if problem is not None:  # told at once, no attempt spent
        return show_otp(request, OTP_SCREEN, flow, errors=problem)
    try:
        await call_as_owner(request, rpc, "me_reauth_otp", {"id": flow.id, "code": code[:16]})
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ("code",))
        if errors.code in FLOW_GONE_CODES:
            raise flow_gone("reauth") from exc
        return show_refusal(request, OTP_SCREEN, flow, errors)
    return _done(request, flow)


@router.post("/usb", response_class=HTMLResponse)
async def start_usb(request: Request, form: CheckedForm, rpc: Rpc, client: Client) -> Response:
    back = safe_back(_text(form.get("tiep")))
    try:
        started: dict[str, Any] = await call_as_owner(request, rpc, "me_reauth_start",
                                                      {"method": "usb"} | client.as_payload())
    except (RemoteError, ServiceUnavailable) as exc:
        return await _page(request, rpc, back, errors=FormErrors.of(exc, ()))
    return _started(request, started, USB_SIGN, back, challenge=started.get("challenge"))


@router.get("/usb-ky-so", response_class=HTMLResponse)
async def usb_page(request: Request, flow: ReauthFlow) -> HTMLResponse:
    return _usb_page(request, flow)


@router.post("/usb-ky-so", response_class=HTMLResponse)
async def submit_usb(request: Request, form: CheckedForm, flow: ReauthFlow,
                     rpc: Rpc) -> Response:
    payload, errors = signed_payload(form)
    if errors:
        return _usb_page(request, flow, errors)
    try:
        await call_as_owner(request, rpc, "me_reauth_signature", {"id": flow.id} | payload)
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ())
        if errors.code in FLOW_GONE_CODES:
            raise flow_gone("reauth") from exc
        return _usb_page(request, flow, errors)
    return _done(request, flow)


@router.post("/sim", response_class=HTMLResponse)
async def start_sim(request: Request, form: CheckedForm, rpc: Rpc, client: Client) -> Response:
    back = safe_back(_text(form.get("tiep")))
    values, errors = form_values(form, (SIM_PHONE,))
    if not errors and not values.get(SIM_PHONE):
        errors = FormErrors.invalid({SIM_PHONE: "Vui lòng nhập số điện thoại có Sim ký số."})
    if errors:
        return await _page(request, rpc, back, errors=errors, values=values)
    try:
        started: dict[str, Any] = await call_as_owner(
            request, rpc, "me_reauth_start",
            {"method": "sim", "phone": values[SIM_PHONE]} | client.as_payload())
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ("phone",))
        for detail in errors.fields.pop("phone", []):
            errors.add(SIM_PHONE, detail)
        return await _page(request, rpc, back, errors=errors, values=values)
    return _started(request, started, SIM_WAITING, back,
                    verification_code=started.get("verification_code"))


@router.get("/sim-ky-so", response_class=HTMLResponse)
async def sim_waiting(request: Request, flow: ReauthFlow, rpc: Rpc) -> Response:
    try:
        view: dict[str, Any] = await call_as_owner(request, rpc, "me_reauth_get",
                                                   {"id": flow.id})
    except (RemoteError, ServiceUnavailable) as exc:
        if isinstance(exc, RemoteError) and exc.code in FLOW_GONE_CODES:
            raise flow_gone("reauth") from exc
        return _sim_page(request, flow, FormErrors.of(exc, ()))
    status = str(view.get("status"))
    if status == "awaiting_signature":
        return _sim_page(request, flow)
    if status == "failed":
        raise _failed(view.get("code"))
    return _done(request, flow)


@router.get("/sim-ky-so/trang-thai")
async def sim_status(request: Request, rpc: Rpc) -> JSONResponse:
    """For the waiting screen's script; the read that sees the approval steps up."""
    flow = read_flow(request, "reauth")
    if flow is None:
        return poll_answer("gone", PAGE)
    try:
        view: dict[str, Any] = await call_as_owner(request, rpc, "me_reauth_get",
                                                   {"id": flow.id})
    except RemoteError as exc:
        return poll_answer("gone", SIM_WAITING) if exc.code in FLOW_GONE_CODES \
            else poll_answer("unknown")
    except ServiceUnavailable:
        return poll_answer("unknown")
    status = str(view.get("status"))
    if status in {"awaiting_signature", "failed"}:
        return poll_answer(status, SIM_WAITING if status == "failed" else None)
    response = poll_answer(status, safe_back(flow.back))
    forget_flow(request, response, "reauth")
    return response


# --- steps -----------------------------------------------------------------------------------

async def _page(request: Request, rpc: Rpc, back: str, *, signature_needed: bool = False,
                errors: FormErrors | None = None,
                values: dict[str, str] | None = None) -> Response:
    listed: dict[str, Any] = await read_as_owner(request, rpc, "me_auth_methods")
    types = {str(m.get("type")) for m in listed.get("items") or []}
    return render(request, "account_reauth.html", pages=ACCOUNT_PAGES, current=None,
                  back=back, types=types, errors=errors, values=values or {},
                  signature_needed=signature_needed
                  or (errors is not None and errors.code == "insufficient_assurance"))


def _started(request: Request, started: dict[str, Any], page: str, back: str,
             **shown: Any) -> Response:
    flow = WebFlow("reauth", str(started["id"]), "-", phone_masked=started.get("phone_masked"),
                   resend_available_at=started.get("resend_available_at"), back=back, **shown)
    response = redirect(page)
    remember_flow(request, response, flow)
    return response


def _done(request: Request, flow: WebFlow) -> Response:
    response = redirect(safe_back(flow.back))
    forget_flow(request, response, "reauth")
    return response


def _usb_page(request: Request, flow: WebFlow, errors: FormErrors | None = None) -> HTMLResponse:
    return show_usb_signing(request, flow, USB_SIGN, heading="Xác thực lại bằng USB ký số",
                            back=PAGE, errors=errors)


def _sim_page(request: Request, flow: WebFlow, errors: FormErrors | None = None) -> HTMLResponse:
    return show_sim_waiting(request, flow, heading="Xác thực lại: xác nhận trên điện thoại",
                            action=SIM_WAITING, status_url=SIM_STATUS, back=PAGE,
                            errors=errors)


def _failed(code: Any) -> PageProblem:
    detail = ("Chứng thư số này chưa gắn với tài khoản nên không dùng để xác thực lại được."
              if code == "forbidden" else failed_detail(code))
    return PageProblem(400, "Chưa xác thực lại được", detail, link=PAGE,
                       link_text="Xác thực lại từ đầu", forget="reauth")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) and len(value) <= MAX_FIELD_LENGTH else ""
