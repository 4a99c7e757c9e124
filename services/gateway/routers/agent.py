"""The post office counter (API.md "Post office counter"): an agent's session registers a
citizen in two steps. profile says whether the session is a recent one of an enabled agent
and at which office; the registration service checks the identity, sends a code to the
citizen's phone and, once the agent enters the code the citizen reads back, creates the
account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from services.gateway.dependencies import Rpc, SessionToken
from services.gateway.problems import problem_responses
from services.gateway.routers import API_PREFIX
from services.gateway.routers.registrations import accepted_while_creating
from services.gateway.schemas import (
    AgentRegistration,
    AgentRegistrationCreated,
    AgentRegistrationStarted,
    OtpResent,
    OtpSubmission,
)

router = APIRouter(prefix=f"{API_PREFIX}/agent", tags=["post office"],
                   responses=problem_responses(401, 403, 409, 422, 429, 500, 503))


async def _agent(rpc: Rpc, token: str) -> dict[str, Any]:
    # 401 without a live session, 403 forbidden for any account that is not an agent's,
    # 403 reauthentication_required for an agent session older than the privileged window.
    agent: dict[str, Any] = await rpc.call("profile", "agent_session", {"session_token": token})
    return {"agent_account_id": agent["account_id"], "office": agent["office"]}


@router.post("/registrations", status_code=201, response_model=AgentRegistrationStarted,
             response_model_exclude_unset=True,
             summary="Start a counter registration: a code goes to the citizen's phone")
async def register_at_counter(body: AgentRegistration, credentials: SessionToken,
                              rpc: Rpc) -> Any:
    agent = await _agent(rpc, credentials.token)
    return await rpc.call("registration", "agent_register_start",
                          body.model_dump(mode="json", exclude_none=True) | agent)


@router.post("/registrations/{registration_id}/otp", status_code=201,
             response_model=AgentRegistrationCreated, response_model_exclude_unset=True,
             responses={202: {"model": AgentRegistrationCreated,
                              "description": "`status` `creating_account`: committed, the "
                                             "account usable in a moment"}},
             summary="The code the citizen reads back: the account is created")
async def confirm_at_counter(registration_id: str, body: OtpSubmission,
                             credentials: SessionToken, rpc: Rpc, response: Response) -> Any:
    agent = await _agent(rpc, credentials.token)
    return accepted_while_creating(await rpc.call(
        "registration", "agent_register_confirm",
        {"id": registration_id, "code": body.code} | agent), response)


@router.post("/registrations/{registration_id}/otp/resend", response_model=OtpResent,
             summary="Send the citizen a new code")
async def resend_at_counter(registration_id: str, credentials: SessionToken,
                            rpc: Rpc) -> Any:
    agent = await _agent(rpc, credentials.token)
    return await rpc.call("registration", "agent_register_resend",
                          {"id": registration_id} | agent)
