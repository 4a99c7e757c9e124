"""The post office counter (API.md "Post office counter"): an agent's session registers a
citizen. profile says whether the session is an agent's and at which office; the
registration service checks the identity and creates the account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.gateway.dependencies import Rpc, SessionToken
from services.gateway.problems import problem_responses
from services.gateway.routers import API_PREFIX
from services.gateway.schemas import AgentRegistration, AgentRegistrationCreated

router = APIRouter(prefix=f"{API_PREFIX}/agent", tags=["post office"],
                   responses=problem_responses(401, 403, 409, 422, 500, 503))


@router.post("/registrations", status_code=201, response_model=AgentRegistrationCreated,
             response_model_exclude_unset=True,
             summary="Register a citizen at the post office counter (agent session)")
async def register_at_counter(body: AgentRegistration, credentials: SessionToken,
                              rpc: Rpc) -> Any:
    # 401 without a live session, 403 (forbidden) for any account that is not an agent's.
    agent = await rpc.call("profile", "agent_session", {"session_token": credentials.token})
    return await rpc.call("registration", "agent_register",
                          body.model_dump(mode="json", exclude_none=True)
                          | {"agent_account_id": agent["account_id"], "office": agent["office"]})
