"""Registration flows (API.md "Registration"), owned by the registration service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from services.gateway.dependencies import FlowToken, Rpc
from services.gateway.problems import problem_responses
from services.gateway.routers import API_PREFIX
from services.gateway.schemas import (
    NewRegistration,
    OtpResent,
    OtpSubmission,
    PasswordChoice,
    RegistrationCompleted,
    RegistrationStarted,
    RegistrationView,
    SignatureAccepted,
    SignatureConfirmation,
    SignatureSubmission,
    StepDone,
)

SERVICE = "registration"
# Read-your-writes (docs/messaging.md): the flow is committed but the account not yet usable;
# 202, and GET the flow (or retry the step) until it says completed.
CREATING_ACCOUNT = "creating_account"
_ACCEPTED: dict[int | str, dict[str, Any]] = {202: {"model": RegistrationCompleted,
                   "description": "The account is being created: `status` is "
                                  "`creating_account`; read the flow until `completed`."}}


def accepted_while_creating(answer: Any, response: Response) -> Any:
    if isinstance(answer, dict) and answer.get("status") == CREATING_ACCOUNT:
        response.status_code = 202
    return answer
router = APIRouter(prefix=f"{API_PREFIX}/registrations", tags=["registrations"],
                   responses=problem_responses(400, 404, 409, 422, 429, 500, 503))


@router.post("", status_code=201, response_model=RegistrationStarted,
             response_model_exclude_unset=True,
             summary="Start a registration")
async def start_registration(body: NewRegistration, rpc: Rpc) -> Any:
    return await rpc.call(SERVICE, "start", body.model_dump(mode="json", exclude_none=True))


@router.get("/{registration_id}", response_model=RegistrationView,
             response_model_exclude_unset=True,
            summary="Read a registration flow")
async def get_registration(registration_id: str, token: FlowToken, rpc: Rpc) -> Any:
    return await rpc.call(SERVICE, "get", {"id": registration_id, "flow_token": token})


@router.post("/{registration_id}/otp", response_model=StepDone,
             response_model_exclude_unset=True, summary="Confirm the SMS OTP")
async def submit_otp(registration_id: str, body: OtpSubmission, token: FlowToken,
                     rpc: Rpc) -> Any:
    return await rpc.call(SERVICE, "submit_otp",
                          {"id": registration_id, "flow_token": token, "code": body.code})


@router.post("/{registration_id}/otp/resend", response_model=OtpResent,
             response_model_exclude_unset=True,
             summary="Send the OTP again")
async def resend_otp(registration_id: str, token: FlowToken, rpc: Rpc) -> Any:
    return await rpc.call(SERVICE, "resend_otp", {"id": registration_id, "flow_token": token})


@router.post("/{registration_id}/password", status_code=201,
             response_model=RegistrationCompleted,
             response_model_exclude_unset=True,
             responses=_ACCEPTED,
             summary="Choose the password: creates the account")
async def set_password(registration_id: str, body: PasswordChoice, token: FlowToken,
                       rpc: Rpc, response: Response) -> Any:
    return accepted_while_creating(await rpc.call(
        SERVICE, "set_password",
        {"id": registration_id, "flow_token": token, "password": body.password,
         "password_confirmation": body.password_confirmation}), response)


@router.post("/{registration_id}/signature", response_model=SignatureAccepted,
             response_model_exclude_unset=True,
             summary="USB token: the certificate and the signature over the challenge")
async def submit_signature(registration_id: str, body: SignatureSubmission, token: FlowToken,
                           rpc: Rpc) -> Any:
    return await rpc.call(SERVICE, "submit_signature",
                          {"id": registration_id, "flow_token": token}
                          | body.model_dump(mode="json", exclude_none=True))


@router.post("/{registration_id}/confirm", status_code=201, response_model=RegistrationCompleted,
             response_model_exclude_unset=True,
             responses=_ACCEPTED,
             summary="USB token / SIM: confirm the identity read from the certificate")
async def confirm_registration(registration_id: str, body: SignatureConfirmation,
                               token: FlowToken, rpc: Rpc, response: Response) -> Any:
    return accepted_while_creating(await rpc.call(
        SERVICE, "confirm",
        {"id": registration_id, "flow_token": token}
        | body.model_dump(mode="json", exclude_none=True)), response)
