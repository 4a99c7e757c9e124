"""Quên mật khẩu: the login name, the OTP to the account's phone, the new password.

The steps call the profile service as ``/api/v1/password-resets`` does (``reset_start``,
``reset_resend_otp``, ``reset_submit_otp``, ``reset_set_password``). "Gửi lại OTP" answers
alike for a name with no account (the service's decoy). A new password ends every session of
the account; this browser's session cookies go with them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.gateway.dependencies import CSRF_COOKIE, SESSION_COOKIE, Client, Rpc, Settings
from services.gateway.web.guards import FLOW_GONE_CODES, CheckedForm, ResetFlow, flow_gone
from services.gateway.web.otp_screen import (
    RESENT_NOTICE,
    OtpEnd,
    OtpScreen,
    new_code_sent,
    show_otp,
    show_refusal,
    typed_code,
)
from services.gateway.web.rendering import FormErrors, redirect, render
from services.gateway.web.security import WebFlow, forget_flow, remember_flow
from shared.contracts import profile as PROFILE
from shared.rpc import RemoteError, ServiceUnavailable

START = "/quen-mat-khau"
router = APIRouter(prefix=START, include_in_schema=False)

OTP_SCREEN = OtpScreen(heading="Xác nhận lấy lại mật khẩu", action=f"{START}/otp",
                       resend_action=f"{START}/otp/gui-lai", back=START, back_text="Nhập lại tên đăng nhập",
                       step="Bước 2/3: Xác nhận số điện thoại",
                       ended=OtpEnd("Chưa lấy lại được mật khẩu",
                                    "Mã OTP đã bị nhập sai quá 5 lần nên yêu cầu lấy lại mật "
                                    "khẩu này đã dừng lại. Vui lòng thực hiện lại từ đầu.",
                                    START, "Lấy lại mật khẩu"))
PASSWORD_FIELDS = ("password", "password_confirmation")


@router.get("", response_class=HTMLResponse)
async def reset_form(request: Request) -> HTMLResponse:
    return render(request, "reset_start.html", values={})


@router.post("", response_class=HTMLResponse)
async def start_reset(request: Request, form: CheckedForm, client: Client, rpc: Rpc) -> Response:
    username = str(form.get("username") or "").strip()
    values = {"username": username}
    if not username:
        return render(request, "reset_start.html", values=values, errors=FormErrors.invalid(
            {"username": "Vui lòng nhập số CCCD/CMND."}))
    try:
        start = PROFILE.ResetStart(username=username, **client.as_payload())
    except ValidationError as exc:  # longer than a login name may be
        return render(request, "reset_start.html", values=values,
                      errors=FormErrors.of_contract(exc, ("username",)))
    try:
        started = await rpc.ask(PROFILE.RESET_START, start)
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ("username",))
        if errors.code == "not_found" and not errors.fields and errors.detail:
            errors.add("username", errors.detail)
        return render(request, "reset_start.html", values=values, errors=errors)
    flow = WebFlow("reset", started.id, started.flow_token, phone_masked=started.phone_masked,
                   resend_available_at=started.resend_available_at)
    response = redirect(f"{START}/otp")
    remember_flow(request, response, flow)
    return response


@router.get("/otp", response_class=HTMLResponse)
async def reset_otp_page(request: Request, flow: ResetFlow) -> Response:
    return show_otp(request, OTP_SCREEN, flow)


@router.post("/otp", response_class=HTMLResponse)
async def submit_reset_otp(request: Request, form: CheckedForm, flow: ResetFlow,
                           rpc: Rpc) -> Response:
    code, problem = typed_code(request, form)
    if problem is not None:  # told at once, no attempt spent
        return show_otp(request, OTP_SCREEN, flow, errors=problem)
    try:
        await rpc.ask(PROFILE.RESET_SUBMIT_OTP,
                      PROFILE.ResetOtp(id=flow.id, flow_token=flow.token, code=code[:16]))
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ("code",))
        if errors.code in FLOW_GONE_CODES:
            raise flow_gone("reset") from exc
        return show_refusal(request, OTP_SCREEN, flow, errors)
    return redirect(f"{START}/mat-khau")


@router.post("/otp/gui-lai", response_class=HTMLResponse)
async def resend_reset_otp(request: Request, form: CheckedForm, flow: ResetFlow, client: Client,
                           rpc: Rpc) -> Response:
    try:
        resent = await rpc.ask(PROFILE.RESET_RESEND_OTP, PROFILE.ResetStep(
            id=flow.id, flow_token=flow.token, **client.as_payload()))
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ("code",))
        if errors.code in FLOW_GONE_CODES:
            raise flow_gone("reset") from exc
        return show_refusal(request, OTP_SCREEN, flow, errors)
    flow = new_code_sent(request, flow, resent.resend_available_at)
    response = show_otp(request, OTP_SCREEN, flow, notice=RESENT_NOTICE)
    remember_flow(request, response, flow)
    return response


@router.get("/mat-khau", response_class=HTMLResponse)
async def new_password_page(request: Request, flow: ResetFlow) -> Response:
    return render(request, "reset_password.html")


@router.post("/mat-khau", response_class=HTMLResponse)
async def set_new_password(request: Request, form: CheckedForm, flow: ResetFlow, rpc: Rpc,
                           settings: Settings) -> Response:
    # A blank field is left out: the contract then says it is missing.
    typed = {name: value for name in PASSWORD_FIELDS
             if isinstance(value := form.get(name), str) and value}
    try:
        choice = PROFILE.ResetPassword.model_validate(
            {"id": flow.id, "flow_token": flow.token} | typed)
    except ValidationError as exc:  # missing, or longer than any password may be
        return render(request, "reset_password.html",
                      errors=FormErrors.of_contract(exc, PASSWORD_FIELDS))
    try:
        await rpc.ask(PROFILE.RESET_SET_PASSWORD, choice)
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, PASSWORD_FIELDS)
        if errors.code in FLOW_GONE_CODES:
            raise flow_gone("reset") from exc
        if errors.code == "password_mismatch" and not errors.fields and errors.detail:
            errors.add("password_confirmation", errors.detail)
        return render(request, "reset_password.html", errors=errors)
    response = redirect(f"{START}/thanh-cong")
    forget_flow(request, response, "reset")
    # Every session of the account has just ended, this browser's included.
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=settings.secure_cookies,
                               httponly=name == SESSION_COOKIE, samesite="lax")
    return response


@router.get("/thanh-cong", response_class=HTMLResponse)
async def reset_done(request: Request) -> HTMLResponse:
    return render(request, "reset_done.html")
