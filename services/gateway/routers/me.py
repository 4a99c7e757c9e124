"""The account of the caller (API.md "The account"), owned by the profile service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.gateway.dependencies import SessionToken
from services.gateway.problems import problem_responses
from services.gateway.routers import API_PREFIX
from services.gateway.schemas import Me
from services.gateway.session_mirror import Mirror

router = APIRouter(prefix=f"{API_PREFIX}/me", tags=["account"],
                   responses=problem_responses(401, 403, 500, 503))


@router.get("", response_model=Me,
             response_model_exclude_unset=True, summary="The caller's account")
async def read_me(credentials: SessionToken, mirror: Mirror) -> Any:
    # From the session mirror's cache of profile's answer when it stands (issue 13).
    return await mirror.me(credentials.token)
