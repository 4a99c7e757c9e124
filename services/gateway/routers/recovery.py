"""The captcha of the login form, the options of the login's OTP step and the forgotten
password (API.md "Login"), all owned by the profile service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.gateway.dependencies import Client, FlowToken, Rpc, path_id
from services.gateway.problems import problem_responses
from services.gateway.routers import API_PREFIX
from services.gateway.schemas import (
    Captcha,
    FirstPasswordChange,
    LostPhoneReport,
    NewPasswordReset,
    OtpPhoneChoice,
    OtpRedirected,
    OtpResent,
    OtpSubmission,
    PasswordChoice,
    PasswordResetStarted,
    StepDone,
)
from shared.contracts import profile as PROFILE

router = APIRouter(prefix=API_PREFIX, tags=["logins"],
                   responses=problem_responses(401, 404, 409, 422, 429, 500, 503))


@router.post("/captchas", status_code=201, response_model=Captcha,
             summary="A new image captcha (Mã xác thực)",
             description="Asked for by `POST /logins` after failed passwords "
                         "(`captcha_required`); send `captcha: {id: captcha_id, answer}` "
                         "with the next login. Each captcha is answered once and lives "
                         "5 minutes.")
async def new_captcha(client: Client, rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.CAPTCHA_NEW,
                          PROFILE.NewCaptcha.model_validate(client.as_payload()))).wire()


@router.post("/logins/{login_id}/otp/phone", response_model=OtpRedirected,
             summary="Send the login OTP to another phone registered on the account")
async def choose_otp_phone(login_id: str, body: OtpPhoneChoice, token: FlowToken,
                           client: Client, rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.LOGIN_OTP_PHONE, PROFILE.OtpPhoneChoice(
        id=path_id(login_id), flow_token=token, phone_id=body.phone_id,
        **client.as_payload()))).wire()


@router.post("/logins/{login_id}/lost-phone", response_model=OtpRedirected,
             summary="Lost OTP phone: send the OTP to a new phone",
             description="The next `/otp` checks the new phone against the carriers' "
                         "subscriber registry with the account's identity: on a match it "
                         "replaces the OTP phone, else `subscriber_mismatch` and nothing "
                         "changes.")
async def lost_phone(login_id: str, body: LostPhoneReport, token: FlowToken,
                     client: Client, rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.LOGIN_LOST_PHONE, PROFILE.LostPhone(
        id=path_id(login_id), flow_token=token, phone=body.phone,
        **client.as_payload()))).wire()


@router.post("/logins/{login_id}/password", response_model=OtpRedirected,
             summary="First login of a post-office account: the new password",
             description="After `status: password_change_required`; then the OTP goes out "
                         "and the login continues at `/otp`.")
async def change_first_password(login_id: str, body: FirstPasswordChange,
                                token: FlowToken, client: Client, rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.LOGIN_CHANGE_PASSWORD, PROFILE.FirstPassword(
        id=path_id(login_id), flow_token=token, new_password=body.new_password,
        new_password_confirmation=body.new_password_confirmation,
        **client.as_payload()))).wire()


@router.post("/password-resets", status_code=201, response_model=PasswordResetStarted,
             summary="Forgot password (Quên mật khẩu): OTP to the account's phone")
async def start_password_reset(body: NewPasswordReset, client: Client, rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.RESET_START, PROFILE.ResetStart(
        username=body.username, **client.as_payload()))).wire()


@router.post("/password-resets/{reset_id}/otp", response_model=StepDone,
             summary="Confirm the password-reset OTP")
async def submit_reset_otp(reset_id: str, body: OtpSubmission, token: FlowToken,
                           rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.RESET_SUBMIT_OTP, PROFILE.ResetOtp(
        id=path_id(reset_id), flow_token=token, code=body.code))).wire()


@router.post("/password-resets/{reset_id}/otp/resend", response_model=OtpResent,
             response_model_exclude_unset=True,
             summary="Send the password-reset OTP again",
             description="Allowed 60 s after the last code (`otp_resend_too_soon` before, "
                         "with `retry_after`); counts as a reset SMS, so the account's and "
                         "the phone's reset caps apply (`rate_limited`); refused once 5 wrong "
                         "codes ended the reset (`otp_attempts_exceeded`). A name with no "
                         "account answers exactly the same.")
async def resend_reset_otp(reset_id: str, token: FlowToken, client: Client,
                           rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.RESET_RESEND_OTP, PROFILE.ResetStep(
        id=path_id(reset_id), flow_token=token, **client.as_payload()))).wire()


@router.post("/password-resets/{reset_id}/password", response_model=StepDone,
             summary="Set the new password: every session of the account ends")
async def set_reset_password(reset_id: str, body: PasswordChoice, token: FlowToken,
                             rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.RESET_SET_PASSWORD, PROFILE.ResetPassword(
        id=path_id(reset_id), flow_token=token, password=body.password,
        password_confirmation=body.password_confirmation))).wire()
