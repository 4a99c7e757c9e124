"""The options of the login's OTP screen (seed guide, login 1.1 and 1.2):

* "Chọn phương thức xác thực khác": the code goes to another OTP phone of the account, one of
  the ``alternatives`` the login start listed (``login_otp_phone``, as
  ``POST /api/v1/logins/{id}/otp/phone``);
* "Mất số điện thoại nhận OTP": the code goes to a new phone; when it is confirmed the profile
  service checks with the carriers that the phone is the account holder's before it replaces
  the lost one (``login_lost_phone``, as ``POST /api/v1/logins/{id}/lost-phone``).

Both then continue on the login's OTP screen (``login.py``).
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.gateway.dependencies import Client, Rpc
from services.gateway.web.guards import FLOW_GONE_CODES, CheckedForm, LoginFlow, flow_gone
from services.gateway.web.login import OTP_SCREEN
from services.gateway.web.otp_screen import new_code_sent, show_otp
from services.gateway.web.rendering import FormErrors, render, vn_phone
from services.gateway.web.security import WebFlow, remember_flow
from shared.contracts import profile as PROFILE
from shared.rpc import RemoteError, ServiceUnavailable

OTHER_PHONE = "/dang-nhap/otp/so-khac"
LOST_PHONE = "/dang-nhap/mat-so-dien-thoai"
router = APIRouter(include_in_schema=False)


@router.post(OTHER_PHONE, response_class=HTMLResponse)
async def send_to_another_phone(request: Request, form: CheckedForm, flow: LoginFlow,
                                client: Client, rpc: Rpc) -> Response:
    phone_id = str(form.get("phone_id") or "")
    if phone_id not in {alternative["phone_id"] for alternative in flow.alternatives}:
        return show_otp(request, OTP_SCREEN, flow, errors=FormErrors.invalid(
            {"phone_id": "Vui lòng chọn một số điện thoại nhận mã OTP."}))
    try:
        sent = await rpc.ask(PROFILE.LOGIN_OTP_PHONE, PROFILE.OtpPhoneChoice(
            id=flow.id, flow_token=flow.token, phone_id=phone_id, **client.as_payload()))
    except (RemoteError, ServiceUnavailable) as exc:
        errors = _refusal(exc, ("phone_id",))
        return show_otp(request, OTP_SCREEN, flow, errors=errors)
    return _code_sent(request, flow, sent)


@router.get(LOST_PHONE, response_class=HTMLResponse)
async def lost_phone_form(request: Request, flow: LoginFlow) -> HTMLResponse:
    return render(request, "login_lost_phone.html", values={}, phone_masked=flow.phone_masked)


@router.post(LOST_PHONE, response_class=HTMLResponse)
async def send_to_a_new_phone(request: Request, form: CheckedForm, flow: LoginFlow,
                              client: Client, rpc: Rpc) -> Response:
    phone = str(form.get("phone") or "").strip()
    if not phone:
        return _lost_phone_page(request, flow, phone, FormErrors.invalid(
            {"phone": "Vui lòng nhập số điện thoại nhận OTP mới."}))
    try:
        lost = PROFILE.LostPhone(id=flow.id, flow_token=flow.token, phone=phone,
                                 **client.as_payload())
    except ValidationError as exc:  # longer than a phone number may be
        return _lost_phone_page(request, flow, phone, FormErrors.of_contract(exc, ("phone",)))
    try:
        sent = await rpc.ask(PROFILE.LOGIN_LOST_PHONE, lost)
    except (RemoteError, ServiceUnavailable) as exc:
        return _lost_phone_page(request, flow, phone, _refusal(exc, ("phone",)))
    return _code_sent(request, flow, sent, new_phone=True)


def _code_sent(request: Request, flow: WebFlow, sent: PROFILE.OtpRedirected, *,
               new_phone: bool = False) -> Response:
    """The OTP screen again, the code now on its way to the phone the person chose."""
    # Another phone's code: its own lifetime; the wrong codes counted start again (whether
    # the service's count does too, its otp_attempts_exceeded still ends the flow).
    flow = replace(new_code_sent(request, flow, sent.resend_available_at), wrong_codes=0,
                   phone_masked=sent.phone_masked or flow.phone_masked)
    notice = f"Mã OTP đã được gửi đến số điện thoại {vn_phone(flow.phone_masked)}."
    if new_phone:
        notice += (" Sau khi bạn xác nhận mã, hệ thống đối chiếu số điện thoại mới với thông "
                   "tin thuê bao của nhà mạng trước khi dùng số này để nhận OTP.")
    response = show_otp(request, OTP_SCREEN, flow, notice=notice)
    remember_flow(request, response, flow)
    return response


def _lost_phone_page(request: Request, flow: WebFlow, phone: str,
                     errors: FormErrors) -> HTMLResponse:
    return render(request, "login_lost_phone.html", values={"phone": phone}, errors=errors,
                  phone_masked=flow.phone_masked)


def _refusal(exc: RemoteError | ServiceUnavailable, on_form: tuple[str, ...]) -> FormErrors:
    errors = FormErrors.of(exc, on_form)
    if errors.code in FLOW_GONE_CODES:
        raise flow_gone("login") from exc
    if errors.code == "invalid_phone" and "phone" in on_form and not errors.fields:
        errors.add("phone", errors.detail or "")
    return errors
