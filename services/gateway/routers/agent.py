"""The post office counter (API.md "Post office counter"): an agent's session registers a
citizen in two steps. profile says whether the session is a recent one of an enabled agent
and at which office; the registration service checks the identity, sends a code to the
citizen's phone and, once the agent enters the code the citizen reads back, creates the
account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from services.gateway.dependencies import Rpc, SessionToken, path_id
from services.gateway.problems import problem_responses
from services.gateway.routers import API_PREFIX
from services.gateway.routers.registrations import accepted_while_creating, body_fields
from services.gateway.schemas import AgentRegistration, OtpResent, OtpSubmission
from shared.contracts import profile as PROFILE
from shared.contracts import registration as REG

router = APIRouter(prefix=f"{API_PREFIX}/agent", tags=["post office"],
                   responses=problem_responses(401, 403, 409, 422, 429, 500, 503))


async def _agent(rpc: Rpc, token: str) -> REG.CounterAgent:
    # 401 without a live session, 403 forbidden for any account that is not an agent's,
    # 403 reauthentication_required for an agent session older than the privileged window.
    agent = await rpc.ask(PROFILE.AGENT_SESSION, PROFILE.SessionRef(session_token=token))
    return REG.CounterAgent(agent_account_id=agent.account_id, office=agent.office)



@router.post("/registrations", status_code=201, response_model=REG.AgentRegistrationStarted,
             response_model_exclude_unset=True,
             summary="Start a counter registration: a code goes to the citizen's phone")
async def register_at_counter(body: AgentRegistration, credentials: SessionToken,
                              rpc: Rpc) -> Any:
    agent = await _agent(rpc, credentials.token)
    start = REG.CounterStart.model_validate(body_fields(body) | dict(agent))
    return (await rpc.ask(REG.AGENT_REGISTER_START, start)).wire()


@router.post("/registrations/{registration_id}/otp", status_code=201,
             response_model=REG.AgentRegistrationCreated, response_model_exclude_unset=True,
             responses={202: {"model": REG.AgentRegistrationCreated,
                              "description": "`status` `creating_account`: committed, the "
                                             "account usable in a moment"}},
             summary="The code the citizen reads back: the account is created")
async def confirm_at_counter(registration_id: str, body: OtpSubmission,
                             credentials: SessionToken, rpc: Rpc, response: Response) -> Any:
    agent = await _agent(rpc, credentials.token)
    entry = REG.CounterOtp(id=path_id(registration_id), code=body.code, **dict(agent))
    done = await rpc.ask(REG.AGENT_REGISTER_CONFIRM, entry)
    return accepted_while_creating(done, response)


@router.post("/registrations/{registration_id}/otp/resend", response_model=OtpResent,
             summary="Send the citizen a new code")
async def resend_at_counter(registration_id: str, credentials: SessionToken,
                            rpc: Rpc) -> Any:
    agent = await _agent(rpc, credentials.token)
    flow = REG.CounterFlowRef(id=path_id(registration_id), **dict(agent))
    return (await rpc.ask(REG.AGENT_REGISTER_RESEND, flow)).wire()
