"""Xác thực lại: the step-up of the browser's session (``POST /api/v1/me/reauthentication``
and its steps), before a sensitive change of the account pages.

An account page whose change is refused with ``reauthentication_required`` (no step-up in the
last 5 minutes) or ``insufficient_assurance`` (a USB/SIM method needs a signature step-up)
sends the browser here with ``?tiep=<that page>``; once the session stepped up, the browser
goes back there and the person makes the change again. Password: the password, then the OTP
screen of the other flows. USB / SIM: the signing screens of ``signing.py``, through the steps
the added methods share (``signature_steps.py``). The step-up's id and the page to go back to
live in the signed ``reauth`` flow cookie (the step-up itself is bound to the session by
profile, so the cookie holds no token).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.gateway.dependencies import Client, Rpc
from services.gateway.web.account import ACCOUNT_PAGES, ask_as_owner, read_as_owner
from services.gateway.web.guards import (
    FLOW_GONE_CODES,
    STEP_UP_PAGE,
    CheckedForm,
    PageProblem,
    ReauthFlow,
    flow_gone,
)
from services.gateway.web.otp_screen import OtpEnd, OtpScreen, show_otp, show_refusal, typed_code
from services.gateway.web.rendering import MAX_FIELD_LENGTH, FormErrors, form_values, render
from services.gateway.web.security import WebFlow
from services.gateway.web.signature_steps import SignatureSteps
from services.gateway.web.signing import failed_detail
from shared.contracts import profile as PROFILE
from shared.contracts.fields import SignatureProof
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


def _failed(code: str | None) -> PageProblem:
    detail = ("Chứng thư số này chưa gắn với tài khoản nên không dùng để xác thực lại được."
              if code == "forbidden" else failed_detail(code))
    return PageProblem(400, "Chưa xác thực lại được", detail, link=PAGE,
                       link_text="Xác thực lại từ đầu", forget="reauth")


def safe_back(raw: str | None) -> str:
    """Only a page of this site that asks for step-ups (the account pages, the post-office
    counter): the step-up never sends the browser elsewhere."""
    value = (raw or "").strip()
    if (value.startswith(BACK_PREFIXES) and "//" not in value and "\\" not in value
            and len(value) <= 200 and value.isascii()):
        return value
    return DEFAULT_BACK


# Once stepped up, back to the page that asked for it.
STEPS = SignatureSteps(kind="reauth", back=PAGE, sim_waiting=SIM_WAITING, sim_status=SIM_STATUS,
                       usb_sign=USB_SIGN,
                       sim_heading="Xác thực lại: xác nhận trên điện thoại",
                       usb_heading="Xác thực lại bằng USB ký số",
                       done_url=lambda flow: safe_back(flow.back), failed=_failed)


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
        started = await ask_as_owner(request, rpc, PROFILE.ME_REAUTH_START, method="password",
                                     password=password, **client.as_payload())
    except (RemoteError, ServiceUnavailable) as exc:
        return await _page(request, rpc, back, errors=FormErrors.of(exc, ("password",)))
    return STEPS.begin(request, _flow(started, back), OTP)


@router.get("/otp", response_class=HTMLResponse)
async def otp_page(request: Request, flow: ReauthFlow) -> Response:
    return show_otp(request, OTP_SCREEN, flow)


@router.post("/otp", response_class=HTMLResponse)
async def submit_otp(request: Request, form: CheckedForm, flow: ReauthFlow,
                     rpc: Rpc) -> Response:
    code, problem = typed_code(request, form)
    if problem is not None:  # told at once, no attempt spent
        return show_otp(request, OTP_SCREEN, flow, errors=problem)
    try:
        await ask_as_owner(request, rpc, PROFILE.ME_REAUTH_OTP, id=flow.id, code=code[:16])
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ("code",))
        if errors.code in FLOW_GONE_CODES:
            raise flow_gone("reauth") from exc
        return show_refusal(request, OTP_SCREEN, flow, errors)
    return STEPS.done(request, flow)


@router.post("/usb", response_class=HTMLResponse)
async def start_usb(request: Request, form: CheckedForm, rpc: Rpc, client: Client) -> Response:
    back = safe_back(_text(form.get("tiep")))
    try:
        started = await ask_as_owner(request, rpc, PROFILE.ME_REAUTH_START, method="usb",
                                     **client.as_payload())
    except (RemoteError, ServiceUnavailable) as exc:
        return await _page(request, rpc, back, errors=FormErrors.of(exc, ()))
    return STEPS.begin(request, _flow(started, back, challenge=started.challenge), USB_SIGN)


@router.get("/usb-ky-so", response_class=HTMLResponse)
async def usb_page(request: Request, flow: ReauthFlow) -> HTMLResponse:
    return STEPS.usb_page(request, flow)


@router.post("/usb-ky-so", response_class=HTMLResponse)
async def submit_usb(request: Request, form: CheckedForm, flow: ReauthFlow,
                     rpc: Rpc) -> Response:
    async def sign(proof: SignatureProof) -> PROFILE.StepUpView:
        return await ask_as_owner(request, rpc, PROFILE.ME_REAUTH_SIGNATURE, id=flow.id,
                                  **proof.wire())

    return await STEPS.submit_usb(request, flow, form, sign)


@router.post("/sim", response_class=HTMLResponse)
async def start_sim(request: Request, form: CheckedForm, rpc: Rpc, client: Client) -> Response:
    back = safe_back(_text(form.get("tiep")))
    values, errors = form_values(form, (SIM_PHONE,))
    if not errors and not values.get(SIM_PHONE):
        errors = FormErrors.invalid({SIM_PHONE: "Vui lòng nhập số điện thoại có Sim ký số."})
    if errors:
        return await _page(request, rpc, back, errors=errors, values=values)
    try:
        started = await ask_as_owner(request, rpc, PROFILE.ME_REAUTH_START, method="sim",
                                     phone=values[SIM_PHONE], **client.as_payload())
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ("phone",))
        for detail in errors.fields.pop("phone", []):
            errors.add(SIM_PHONE, detail)
        return await _page(request, rpc, back, errors=errors, values=values)
    return STEPS.begin(request, _flow(started, back,
                                      verification_code=started.verification_code),
                       SIM_WAITING)


@router.get("/sim-ky-so", response_class=HTMLResponse)
async def sim_waiting(request: Request, flow: ReauthFlow, rpc: Rpc) -> Response:
    return await STEPS.show_sim(request, flow, lambda current: _read(request, rpc, current))


@router.get("/sim-ky-so/trang-thai")
async def sim_status(request: Request, rpc: Rpc) -> JSONResponse:
    """For the waiting screen's script; the read that sees the approval steps up."""
    return await STEPS.poll_sim(request, lambda current: _read(request, rpc, current))


# --- steps -----------------------------------------------------------------------------------

async def _page(request: Request, rpc: Rpc, back: str, *, signature_needed: bool = False,
                errors: FormErrors | None = None,
                values: dict[str, str] | None = None) -> Response:
    listed = await read_as_owner(request, rpc, PROFILE.ME_AUTH_METHODS)
    types = {method.type for method in listed.items}
    return render(request, "account_reauth.html", pages=ACCOUNT_PAGES, current=None,
                  back=back, types=types, errors=errors, values=values or {},
                  signature_needed=signature_needed
                  or (errors is not None and errors.code == "insufficient_assurance"))


def _flow(started: PROFILE.StepUpView, back: str, *, verification_code: str | None = None,
          challenge: str | None = None) -> WebFlow:
    # The step-up is bound to the session by profile: the cookie holds no token.
    return WebFlow("reauth", str(started.id), "-", phone_masked=started.phone_masked,
                   resend_available_at=started.resend_available_at, back=back,
                   verification_code=verification_code, challenge=challenge)


async def _read(request: Request, rpc: Rpc, flow: WebFlow) -> PROFILE.StepUpView:
    return await ask_as_owner(request, rpc, PROFILE.ME_REAUTH_GET, id=flow.id)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) and len(value) <= MAX_FIELD_LENGTH else ""
