"""The account of the caller (API.md "The account"), owned by the profile service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.gateway.dependencies import Rpc, SessionToken
from services.gateway.problems import problem_responses
from services.gateway.routers import API_PREFIX
from services.gateway.schemas import Me

router = APIRouter(prefix=f"{API_PREFIX}/me", tags=["account"],
                   responses=problem_responses(401, 403, 500, 503))


@router.get("", response_model=Me,
             response_model_exclude_unset=True, summary="The caller's account")
async def read_me(credentials: SessionToken, rpc: Rpc) -> Any:
    return await rpc.call("profile", "me", {"session_token": credentials.token})
