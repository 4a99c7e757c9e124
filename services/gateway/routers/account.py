"""Account management (API.md "The account"): contacts, authentication methods, password,
login history and sessions of the caller's own account, owned by the profile service.

Every route needs the caller's session (401 ``unauthenticated`` without one); an id of
another account's session, method or flow is 404 ``not_found``. Sensitive changes (methods,
password, e-mail, ending another session) need a step-up of the session in the last 5
minutes (``POST /me/reauthentication``), else 403 ``reauthentication_required``; a USB/SIM
method needs a step-up with a signature of a certificate bound to the account (once it has
one), else 403 ``insufficient_assurance``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import ConfigDict, Field, StrictBool

from services.gateway.dependencies import Client, FlowToken, Rpc, SessionToken, path_id
from services.gateway.problems import problem_responses
from services.gateway.routers import API_PREFIX
from services.gateway.schemas import (
    CaptchaAnswer,
    Email,
    Me,
    OtpCode,
    Password,
    Phone,
    RequestBody,
    ResponseBody,
    SignatureSubmission,
)
from shared.contracts import profile as PROFILE

NEXT_PAGE_HEADER = "X-Next-Before"

router = APIRouter(prefix=f"{API_PREFIX}/me", tags=["account"],
                   responses=problem_responses(401, 403, 404, 409, 422, 429, 500, 503))


class ContactsUpdate(RequestBody):
    """Contact fields; identity fields (id_number, full_name, birth_date, sex, tax_code, …)
    are read-only: sending one is refused by profile with ``forbidden`` naming the field."""

    model_config = ConfigDict(extra="allow")

    email: Email = None
    address: PROFILE.ContactAddress | None = None


class PasswordChange(RequestBody):
    current_password: Password
    new_password: Password
    new_password_confirmation: Password
    end_other_sessions: StrictBool = False


class NewMethod(RequestBody):
    type: Literal["sms", "usb", "sim"]
    phone: Phone | None = None


class MethodOtp(RequestBody):
    code: OtpCode


# The user-agent string in people's words (profile names it: issue 14).
DeviceWords = Annotated[str | None, Field(description='e.g. "Chrome trên Windows"')]


class LoginEntry(ResponseBody):
    at: str
    method: str
    result: str
    ip: str | None = None
    user_agent: str | None = None
    device: DeviceWords = None


class SessionEntry(ResponseBody):
    id: str
    created_at: str
    last_seen_at: str
    ip: str | None = None
    user_agent: str | None = None
    device: DeviceWords = None
    level: int
    method: str | None = None
    current: bool


class AuthMethodEntry(ResponseBody):
    id: str
    type: str
    label: str
    created_at: str | None = None
    last_used_at: str | None = None


class MethodFlowView(ResponseBody):
    id: str
    type: str
    status: str
    flow_token: str | None = None
    phone_masked: str | None = None
    challenge: str | None = None
    verification_code: str | None = None
    expires_at: str | None = None
    method: AuthMethodEntry | None = None
    code: str | None = None


class StepUpStart(RequestBody):
    """password: the account's password, then the OTP sent to its phone (level 2); usb: a
    signature over the returned challenge (level 3); sim: the SIM's phone, then poll GET."""

    method: Literal["password", "usb", "sim"]
    password: Password | None = None
    phone: Phone | None = None
    captcha: CaptchaAnswer | None = None


class StepUpView(ResponseBody):
    id: str | None = None
    method: str | None = None
    status: str
    phone_masked: str | None = None
    challenge: str | None = None
    verification_code: str | None = None
    expires_at: str | None = None
    resend_available_at: str | None = None
    code: str | None = None
    level: int | None = None
    reauthenticated_at: str | None = None
    valid_until: str | None = None


def _auth(credentials: SessionToken) -> dict[str, str]:
    return {"session_token": credentials.token}


@router.patch("", response_model=Me, response_model_exclude_unset=True,
              summary="Edit contact fields (a new email needs a step-up)")
async def update_me(body: ContactsUpdate, credentials: SessionToken, rpc: Rpc) -> Any:
    # exclude_unset: a field sent as null clears it, a field not sent is left alone.
    update = PROFILE.UpdateContacts(**body.model_dump(mode="json", exclude_unset=True),
                                    **_auth(credentials))
    return (await rpc.ask(PROFILE.ME_UPDATE, update)).wire()


@router.get("/logins", response_model=list[LoginEntry], summary="Access history, newest first")
async def list_logins(credentials: SessionToken, rpc: Rpc, response: Response,
                      limit: Annotated[PROFILE.PageSize, Query()] = 20,
                      before: Annotated[datetime | None, Query(
                          description=f"older than this time (the {NEXT_PAGE_HEADER} header "
                                      "of the previous page)")] = None) -> Any:
    page = await rpc.ask(PROFILE.ME_LOGINS, PROFILE.LoginHistoryPage.model_validate(
        _auth(credentials) | {"limit": limit} | ({"before": before} if before else {})))
    if page.next_before:
        response.headers[NEXT_PAGE_HEADER] = page.next_before
    return [entry.wire() for entry in page.items]


@router.get("/sessions", response_model=list[SessionEntry],
            summary="Active sessions, the current one marked")
async def list_sessions(credentials: SessionToken, rpc: Rpc) -> Any:
    sessions = await rpc.ask(PROFILE.ME_SESSIONS, PROFILE.SessionRef(**_auth(credentials)))
    return [entry.wire() for entry in sessions.items]


@router.delete("/sessions/{session_id}", status_code=204, response_class=Response,
               summary="End a session (at once)")
async def end_session(session_id: str, credentials: SessionToken, rpc: Rpc) -> Response:
    await rpc.ask(PROFILE.ME_END_SESSION,
                  PROFILE.SessionTarget(**_auth(credentials), session_id=path_id(session_id)))
    return Response(status_code=204)


@router.get("/auth-methods", response_model=list[AuthMethodEntry],
            summary="Authentication methods")
async def list_auth_methods(credentials: SessionToken, rpc: Rpc) -> Any:
    methods = await rpc.ask(PROFILE.ME_AUTH_METHODS, PROFILE.SessionRef(**_auth(credentials)))
    return [method.wire() for method in methods.items]


@router.post("/auth-methods", status_code=201, response_model=MethodFlowView,
             response_model_exclude_unset=True,
             summary="Add a method (step-up): sms (OTP to the phone), usb (challenge), sim")
async def add_auth_method(body: NewMethod, credentials: SessionToken, client: Client,
                          rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.ME_ADD_METHOD, PROFILE.NewMethod.model_validate(
        body.model_dump(mode="json", exclude_none=True) | _auth(credentials)
        | client.as_payload()))).wire()


@router.get("/auth-methods/flows/{flow_id}", response_model=MethodFlowView,
            response_model_exclude_unset=True,
            summary="Read an add-method flow (a SIM flow asks the SIM's answer)")
async def get_method_flow(flow_id: str, token: FlowToken, credentials: SessionToken,
                          rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.ME_METHOD_GET, PROFILE.MethodFlowRef(
        **_auth(credentials), id=path_id(flow_id), flow_token=token))).wire()


@router.post("/auth-methods/flows/{flow_id}/otp", status_code=201,
             response_model=AuthMethodEntry, response_model_exclude_unset=True,
             summary="Confirm the OTP sent to the new phone: the new method")
async def confirm_method_otp(flow_id: str, body: MethodOtp, token: FlowToken,
                             credentials: SessionToken, rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.ME_METHOD_OTP, PROFILE.MethodOtp(
        **_auth(credentials), id=path_id(flow_id), flow_token=token, code=body.code))).wire()


@router.post("/auth-methods/flows/{flow_id}/signature", status_code=201,
             response_model=AuthMethodEntry, response_model_exclude_unset=True,
             summary="USB token: certificate + signature over the challenge: the new method")
async def confirm_method_signature(flow_id: str, body: SignatureSubmission,
                                   token: FlowToken, credentials: SessionToken,
                                   rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.ME_METHOD_SIGNATURE, PROFILE.MethodSignature(
        **_auth(credentials), id=path_id(flow_id), flow_token=token,
        **body.model_dump(mode="json", exclude_none=True)))).wire()


@router.delete("/auth-methods/{method_id}", status_code=204, response_class=Response,
               summary="Remove a method (never the last way to log in: last_auth_method)")
async def remove_auth_method(method_id: str, credentials: SessionToken,
                             rpc: Rpc) -> Response:
    await rpc.ask(PROFILE.ME_REMOVE_METHOD,
                  PROFILE.MethodTarget(**_auth(credentials), method_id=path_id(method_id)))
    return Response(status_code=204)


@router.put("/password", status_code=204, response_class=Response,
            summary="Change the password (step-up), optionally ending the other sessions")
async def change_password(body: PasswordChange, credentials: SessionToken, client: Client,
                          rpc: Rpc) -> Response:
    await rpc.ask(PROFILE.ME_CHANGE_PASSWORD, PROFILE.PasswordChange.model_validate(
        body.model_dump(mode="json") | _auth(credentials) | client.as_payload()))
    return Response(status_code=204)


@router.post("/reauthentication", status_code=201, response_model=StepUpView,
             response_model_exclude_none=True,
             summary="Step-up: prove a factor again (password + OTP, USB or SIM signature)")
async def start_step_up(body: StepUpStart, credentials: SessionToken, client: Client,
                        rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.ME_REAUTH_START, PROFILE.StepUpStart.model_validate(
        body.model_dump(mode="json", exclude_none=True) | _auth(credentials)
        | client.as_payload()))).wire()


@router.get("/reauthentication/{step_up_id}", response_model=StepUpView,
            response_model_exclude_none=True,
            summary="Read a step-up (a SIM one asks the SIM's answer)")
async def get_step_up(step_up_id: str, credentials: SessionToken, rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.ME_REAUTH_GET,
                          PROFILE.StepUpRef(**_auth(credentials), id=path_id(step_up_id)))).wire()


@router.post("/reauthentication/{step_up_id}/otp", response_model=StepUpView,
             response_model_exclude_none=True,
             summary="The OTP of a password step-up: the session is stepped up (level 2)")
async def step_up_otp(step_up_id: str, body: MethodOtp, credentials: SessionToken,
                      rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.ME_REAUTH_OTP, PROFILE.StepUpOtp(
        **_auth(credentials), id=path_id(step_up_id), code=body.code))).wire()


@router.post("/reauthentication/{step_up_id}/signature", response_model=StepUpView,
             response_model_exclude_none=True,
             summary="USB step-up: a bound certificate's signature over the challenge (level 3)")
async def step_up_signature(step_up_id: str, body: SignatureSubmission,
                            credentials: SessionToken, rpc: Rpc) -> Any:
    return (await rpc.ask(PROFILE.ME_REAUTH_SIGNATURE, PROFILE.StepUpSignature(
        **_auth(credentials), id=path_id(step_up_id),
        **body.model_dump(mode="json", exclude_none=True)))).wire()
