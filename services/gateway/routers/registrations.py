"""Registration flows (API.md "Registration"), owned by the registration service: each route
asks one endpoint of its contract (``shared/contracts/registration.py``) and answers what the
service answered (``Contract.wire``: the fields it set, and only those)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from services.gateway.dependencies import FlowToken, Rpc, path_id
from services.gateway.problems import problem_responses
from services.gateway.routers import API_PREFIX
from services.gateway.schemas import (
    NewRegistration,
    OtpResent,
    OtpSubmission,
    PasswordChoice,
    SignatureConfirmation,
    SignatureSubmission,
    StepDone,
)
from shared.contracts import registration as REG
from shared.contracts.fields import FlowRef
from shared.contracts.registration import (
    RegistrationCompleted,
    RegistrationStarted,
    RegistrationView,
    SignatureAccepted,
)

# Read-your-writes (docs/messaging.md): the flow is committed but the account not yet usable;
# 202, and GET the flow (or retry the step) until it says completed.
CREATING_ACCOUNT = "creating_account"
_ACCEPTED: dict[int | str, dict[str, Any]] = {202: {"model": RegistrationCompleted,
                   "description": "The account is being created: `status` is "
                                  "`creating_account`; read the flow until `completed`."}}


def accepted_while_creating(answer: REG.RegistrationCompleted | REG.AgentRegistrationCreated,
                            response: Response) -> dict[str, Any]:
    """A completing step's answer: 202 while the account is not yet usable."""
    if answer.status == CREATING_ACCOUNT:
        response.status_code = 202
    return answer.wire()


def body_fields(body: BaseModel) -> dict[str, Any]:
    """An API body's fields as the contract takes them: those the client left out (or blank,
    as an empty e-mail) stay out."""
    return body.model_dump(exclude_none=True)


router = APIRouter(prefix=f"{API_PREFIX}/registrations", tags=["registrations"],
                   responses=problem_responses(400, 404, 409, 422, 429, 500, 503))


@router.post("", status_code=201, response_model=RegistrationStarted,
             response_model_exclude_unset=True,
             summary="Start a registration")
async def start_registration(body: NewRegistration, rpc: Rpc) -> Any:
    start = REG.StartRegistration.model_validate(body_fields(body))
    return (await rpc.ask(REG.START, start)).wire()


@router.get("/{registration_id}", response_model=RegistrationView,
             response_model_exclude_unset=True,
            summary="Read a registration flow")
async def get_registration(registration_id: str, token: FlowToken, rpc: Rpc) -> Any:
    read = REG.ReadRegistration(id=path_id(registration_id), flow_token=token)
    return (await rpc.ask(REG.GET, read)).wire()


@router.post("/{registration_id}/otp", response_model=StepDone,
             response_model_exclude_unset=True, summary="Confirm the SMS OTP")
async def submit_otp(registration_id: str, body: OtpSubmission, token: FlowToken,
                     rpc: Rpc) -> Any:
    entry = REG.SubmitOtp(id=path_id(registration_id), flow_token=token, code=body.code)
    return (await rpc.ask(REG.SUBMIT_OTP, entry)).wire()


@router.post("/{registration_id}/otp/resend", response_model=OtpResent,
             response_model_exclude_unset=True,
             summary="Send the OTP again")
async def resend_otp(registration_id: str, token: FlowToken, rpc: Rpc) -> Any:
    flow = FlowRef(id=path_id(registration_id), flow_token=token)
    return (await rpc.ask(REG.RESEND_OTP, flow)).wire()


@router.post("/{registration_id}/password", status_code=201,
             response_model=RegistrationCompleted,
             response_model_exclude_unset=True,
             responses=_ACCEPTED,
             summary="Choose the password: creates the account")
async def set_password(registration_id: str, body: PasswordChoice, token: FlowToken,
                       rpc: Rpc, response: Response) -> Any:
    choice = REG.SetPassword(id=path_id(registration_id), flow_token=token,
                             password=body.password,
                             password_confirmation=body.password_confirmation)
    done = await rpc.ask(REG.SET_PASSWORD, choice)
    return accepted_while_creating(done, response)


@router.post("/{registration_id}/signature", response_model=SignatureAccepted,
             response_model_exclude_unset=True,
             summary="USB token: the certificate and the signature over the challenge")
async def submit_signature(registration_id: str, body: SignatureSubmission, token: FlowToken,
                           rpc: Rpc) -> Any:
    signed = REG.SubmitSignature(id=path_id(registration_id), flow_token=token,
                                 **body_fields(body))
    return (await rpc.ask(REG.SUBMIT_SIGNATURE, signed)).wire()


@router.post("/{registration_id}/confirm", status_code=201, response_model=RegistrationCompleted,
             response_model_exclude_unset=True,
             responses=_ACCEPTED,
             summary="USB token / SIM: confirm the identity read from the certificate")
async def confirm_registration(registration_id: str, body: SignatureConfirmation,
                               token: FlowToken, rpc: Rpc, response: Response) -> Any:
    confirmation = REG.ConfirmIdentity(id=path_id(registration_id), flow_token=token,
                                       **body_fields(body))
    done = await rpc.ask(REG.CONFIRM, confirmation)
    return accepted_while_creating(done, response)
