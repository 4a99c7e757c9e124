"""Login flows and logout (API.md "Login"), owned by the profile service.

On a completed login the gateway sets the session cookie (HttpOnly, SameSite=Lax, Secure
outside dev, absolute lifetime of a session: 12 h) and a readable CSRF cookie that pages copy
into ``X-CSRF-Token`` (double-submit, see ``dependencies.session_credentials``).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Response

from services.gateway.dependencies import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Client,
    FlowToken,
    Rpc,
    SessionToken,
    Settings,
    path_id,
)
from services.gateway.problems import problem_responses
from services.gateway.routers import API_PREFIX
from services.gateway.schemas import (
    LoginCompleted,
    LoginStarted,
    LoginView,
    NewLogin,
    OtpResent,
    OtpSubmission,
    SignatureSubmission,
)
from shared.contracts import profile as PROFILE
from shared.rpc import RemoteError

SESSION_MAX_AGE_SECONDS = 12 * 3600  # the absolute lifetime of a session (FLOWS.md)

router = APIRouter(prefix=API_PREFIX, tags=["logins"],
                   responses=problem_responses(401, 403, 404, 409, 422, 423, 429, 500, 503))


@router.post("/logins", status_code=201, response_model=LoginStarted,
             response_model_exclude_unset=True, summary="Start a login")
async def start_login(body: NewLogin, client: Client, rpc: Rpc) -> Any:
    # password → OTP; usb → a challenge for the token; sim → a signing request to the phone.
    start = PROFILE.LoginStart.model_validate(
        body.model_dump(mode="json", exclude_none=True) | client.as_payload())
    return (await rpc.ask(PROFILE.LOGIN_START, start)).wire()


@router.get("/logins/{login_id}", response_model=LoginView,
             response_model_exclude_unset=True, summary="Read a login flow")
async def get_login(login_id: str, token: FlowToken, rpc: Rpc, settings: Settings,
                    response: Response) -> Any:
    login = await rpc.ask(PROFILE.LOGIN_GET,
                          PROFILE.LoginFlowRef(id=path_id(login_id), flow_token=token))
    # A SIM login completes on the poll that sees the approval: that answer opens the session.
    if login.session_token:
        _set_session_cookies(response, login.session_token, settings.secure_cookies)
    return login.wire()


@router.post("/logins/{login_id}/signature", response_model=LoginCompleted,
             response_model_exclude_unset=True,
             summary="USB token: certificate + signature over the challenge; opens the session")
async def submit_login_signature(login_id: str, body: SignatureSubmission,
                                 token: FlowToken, client: Client, rpc: Rpc,
                                 settings: Settings, response: Response) -> Any:
    done = await rpc.ask(PROFILE.LOGIN_SUBMIT_SIGNATURE, PROFILE.LoginSignature(
        id=path_id(login_id), flow_token=token,
        **body.model_dump(mode="json", exclude_none=True), **client.as_payload()))
    _set_session_cookies(response, done.session_token, settings.secure_cookies)
    return done.wire()


@router.post("/logins/{login_id}/otp", response_model=LoginCompleted,
             response_model_exclude_unset=True,
             summary="Confirm the OTP: opens the session (also as a cookie)")
async def submit_login_otp(login_id: str, body: OtpSubmission, token: FlowToken,
                           client: Client, rpc: Rpc, settings: Settings,
                           response: Response) -> Any:
    done = await rpc.ask(PROFILE.LOGIN_SUBMIT_OTP, PROFILE.LoginOtp(
        id=path_id(login_id), flow_token=token, code=body.code, **client.as_payload()))
    _set_session_cookies(response, done.session_token, settings.secure_cookies)
    return done.wire()


@router.post("/logins/{login_id}/otp/resend", response_model=OtpResent,
             response_model_exclude_unset=True,
             summary="Send the login OTP again")
async def resend_login_otp(login_id: str, token: FlowToken, client: Client,
                           rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.LOGIN_RESEND_OTP, PROFILE.LoginStep(
        id=path_id(login_id), flow_token=token, **client.as_payload()))).wire()


@router.post("/logout", status_code=204, response_class=Response,
             summary="End the current session")
async def logout(credentials: SessionToken, rpc: Rpc, settings: Settings) -> Response:
    try:
        await rpc.ask(PROFILE.LOGOUT, PROFILE.SessionRef(session_token=credentials.token))
    except RemoteError as exc:
        # Already ended or expired: logging out again is done, not an error.
        if exc.code != "unauthenticated":
            raise
    response = Response(status_code=204)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=settings.secure_cookies,
                               httponly=name == SESSION_COOKIE, samesite="lax")
    return response


def _set_session_cookies(response: Response, session_token: str, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, session_token, max_age=SESSION_MAX_AGE_SECONDS,
                        path="/", secure=secure, httponly=True, samesite="lax")
    # Readable by our pages (not HttpOnly) so they can echo it in X-CSRF-Token.
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(32),
                        max_age=SESSION_MAX_AGE_SECONDS, path="/", secure=secure,
                        httponly=False, samesite="lax")
