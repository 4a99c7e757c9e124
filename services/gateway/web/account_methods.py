"""Các phương thức xác thực: the account's methods (``GET /api/v1/me/auth-methods``), a new
SMS phone confirmed by OTP (``POST /me/auth-methods`` then ``.../flows/{id}/otp``), removal
(``DELETE /me/auth-methods/{id}``; never the last way to log in: ``last_auth_method``) and
"Sửa" of the password (``PUT /me/password``).

These changes are sensitive: without a step-up of the session in the last 5 minutes they are
refused (``reauthentication_required``, ``insufficient_assurance``) and the browser goes to
"Xác thực lại" (``account_reauth.py``), then back here. The add flow's id and token live in
the signed ``method`` flow cookie, as the login's do.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.dependencies import Client, Rpc
from services.gateway.web.account import ACCOUNT_PAGES, NOTICES, ask_as_owner, read_as_owner
from services.gateway.web.guards import (
    FLOW_GONE_CODES,
    CheckedForm,
    MethodFlow,
    flow_gone,
    step_up_redirect,
)
from services.gateway.web.new_password import new_password_errors, new_password_payload
from services.gateway.web.otp_screen import OtpEnd, OtpScreen, show_otp, show_refusal, typed_code
from services.gateway.web.rendering import MAX_FIELD_LENGTH, FormErrors, redirect, render
from services.gateway.web.security import WebFlow, forget_flow, remember_flow
from shared.contracts import profile as PROFILE
from shared.rpc import RemoteError, ServiceUnavailable

PAGE = "/tai-khoan/phuong-thuc-xac-thuc"
router = APIRouter(prefix=PAGE, include_in_schema=False)
TYPE_TITLES = {"password": "Mật khẩu", "sms": "SMS (OTP)", "usb": "USB ký số", "sim": "SIM ký số",
               "vneid": "VNeID"}
OTP_SCREEN = OtpScreen(heading="Xác nhận số điện thoại mới", action=f"{PAGE}/otp",
                       resend_action=None, back=PAGE, back_text="Quay lại phương thức xác thực",
                       ended=OtpEnd("Chưa thêm được số điện thoại",
                                    "Mã OTP đã bị nhập sai quá 5 lần nên yêu cầu thêm số điện "
                                    "thoại này đã dừng lại. Vui lòng thêm lại số từ đầu.",
                                    PAGE, "Quay lại phương thức xác thực"))


@router.get("", response_class=HTMLResponse)
async def methods_page(request: Request, rpc: Rpc, tb: str = "") -> Response:
    return await _methods_page(request, rpc, notice=NOTICES.get(tb))


@router.post("/them-sms", response_class=HTMLResponse)
async def add_sms_phone(request: Request, form: CheckedForm, rpc: Rpc, client: Client) -> Response:
    phone = str(form.get("phone") or "").strip()
    if not phone:
        return await _methods_page(request, rpc, values={"phone": phone}, errors=FormErrors.invalid(
            {"phone": "Vui lòng nhập số điện thoại di động."}))
    try:
        started = await ask_as_owner(request, rpc, PROFILE.ME_ADD_METHOD, type="sms",
                                     phone=phone, **client.as_payload())
    except (RemoteError, ServiceUnavailable) as exc:
        stepping_up = step_up_redirect(exc, PAGE)
        if stepping_up is not None:
            return stepping_up
        errors = FormErrors.of(exc, ("phone",))
        if errors.code in {"invalid_phone", "phone_limit"} and not errors.fields and errors.detail:
            errors.add("phone", errors.detail)
        return await _methods_page(request, rpc, values={"phone": phone}, errors=errors)
    flow = WebFlow("method", started.id, str(started.flow_token),
                   phone_masked=started.phone_masked,
                   resend_available_at=started.resend_available_at)
    response = redirect(f"{PAGE}/otp")
    remember_flow(request, response, flow)
    return response


@router.get("/otp", response_class=HTMLResponse)
async def method_otp_page(request: Request, flow: MethodFlow) -> Response:
    return show_otp(request, OTP_SCREEN, flow)


@router.post("/otp", response_class=HTMLResponse)
async def confirm_method_otp(request: Request, form: CheckedForm, flow: MethodFlow,
                             rpc: Rpc) -> Response:
    code, problem = typed_code(request, form)
    if problem is not None:  # told at once, no attempt spent
        return show_otp(request, OTP_SCREEN, flow, errors=problem)
    try:
        await ask_as_owner(request, rpc, PROFILE.ME_METHOD_OTP, id=flow.id,
                           flow_token=flow.token, code=code[:16])
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ("code",))
        if errors.code in FLOW_GONE_CODES:
            raise flow_gone("method") from exc
        # The step-up lapsed while the code was on its way: step up, then add it again.
        stepping_up = step_up_redirect(exc, PAGE)
        if stepping_up is not None:
            forget_flow(request, stepping_up, "method")
            return stepping_up
        return show_refusal(request, OTP_SCREEN, flow, errors)
    response = redirect(f"{PAGE}?tb=da-them")
    forget_flow(request, response, "method")
    return response


@router.post("/xoa", response_class=HTMLResponse)
async def remove_method(request: Request, form: CheckedForm, rpc: Rpc) -> Response:
    method_id = str(form.get("method_id") or "")[:64]
    try:
        await ask_as_owner(request, rpc, PROFILE.ME_REMOVE_METHOD, method_id=method_id)
    except (RemoteError, ServiceUnavailable) as exc:
        stepping_up = step_up_redirect(exc, PAGE)
        if stepping_up is not None:
            return stepping_up
        return await _methods_page(request, rpc, errors=FormErrors.of(exc, ()),
                                   refused_method=method_id)
    return redirect(f"{PAGE}?tb=da-xoa")


@router.get("/mat-khau", response_class=HTMLResponse)
async def change_password_page(request: Request, rpc: Rpc) -> Response:
    await read_as_owner(request, rpc, PROFILE.ME)  # signed in, or off to log in
    return _password_page(request)


@router.post("/mat-khau", response_class=HTMLResponse)
async def change_password(request: Request, form: CheckedForm, rpc: Rpc,
                          client: Client) -> Response:
    current = form.get("current_password")
    current = current if isinstance(current, str) else ""
    payload, errors = new_password_payload(form)
    if not current:
        errors = FormErrors.invalid({k: v[0] for k, v in errors.fields.items()}
                                    | {"current_password": "Vui lòng nhập mật khẩu hiện tại."})
    elif len(current) > MAX_FIELD_LENGTH:
        errors = FormErrors.invalid({"current_password": "Mật khẩu quá dài."})
    if errors:
        return _password_page(request, errors)
    try:
        await ask_as_owner(request, rpc, PROFILE.ME_CHANGE_PASSWORD, **payload,
                           current_password=current,
                           end_other_sessions=form.get("end_other_sessions") == "1",
                           **client.as_payload())
    except (RemoteError, ServiceUnavailable) as exc:
        return (step_up_redirect(exc, f"{PAGE}/mat-khau")
                or _password_page(request, new_password_errors(exc, ("current_password",))))
    return redirect(f"{PAGE}?tb=da-doi-mat-khau")


async def _methods_page(request: Request, rpc: Rpc, *, values: dict[str, str] | None = None,
                        errors: FormErrors | None = None, notice: str | None = None,
                        refused_method: str | None = None) -> Response:
    listed = await read_as_owner(request, rpc, PROFILE.ME_AUTH_METHODS)
    return render(request, "account_methods.html", pages=ACCOUNT_PAGES, current=PAGE,
                  methods=[method.wire() for method in listed.items], type_titles=TYPE_TITLES,
                  values=values or {}, errors=errors, notice=notice,
                  refused_method=refused_method)


def _password_page(request: Request, errors: FormErrors | None = None) -> Response:
    return render(request, "account_password.html", pages=ACCOUNT_PAGES, current=PAGE,
                  errors=errors)
