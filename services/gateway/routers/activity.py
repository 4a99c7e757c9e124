"""The account activity log of the caller (issue 10): every security-relevant change to the
account, newest first, from profile's hash-chained log. The caller's own log only: the
account comes from the session, never from the request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from services.gateway.dependencies import Rpc, SessionToken
from services.gateway.problems import problem_responses
from services.gateway.routers import API_PREFIX
from services.gateway.schemas import ResponseBody
from shared.contracts import profile as PROFILE

NEXT_PAGE_HEADER = "X-Next-Before"

router = APIRouter(prefix=f"{API_PREFIX}/me", tags=["account"],
                   responses=problem_responses(401, 422, 500, 503))


class ActivityEntry(ResponseBody):
    seq: int = Field(description="place in the account's chain, 1 = the oldest")
    at: str = Field(description="when it happened (RFC 3339, UTC)")
    kind: str = Field(description="what happened, a stable English identifier: "
                                  "account_created, counter_registration, login_succeeded, "
                                  "login_failed, auth_method_added, auth_method_removed, "
                                  "password_changed, phone_replaced, session_ended, "
                                  "profile_updated (more may come)")
    details: dict[str, Any] = Field(
        description="what identifies the action to its owner: method, type, reason, ip, "
                    "device (coarse), phone_masked, session_id, fields, office; a failed "
                    "login entry sums a 15-minute window: failures, window_start")


@router.get("/activity", response_model=list[ActivityEntry],
            summary="Account activity log, newest first (cursor: before = a seq)")
async def list_activity(credentials: SessionToken, rpc: Rpc, response: Response,
                        limit: Annotated[PROFILE.PageSize, Query()] = 20,
                        before: Annotated[PROFILE.ActivitySeq | None, Query(
                            description=f"older than this seq (the {NEXT_PAGE_HEADER} "
                                        "header of the previous page)")] = None) -> Any:
    page = await rpc.ask(PROFILE.ME_ACTIVITY, PROFILE.ActivityPage(
        session_token=credentials.token, limit=limit,
        **({"before": before} if before is not None else {})))
    if page.next_before:
        response.headers[NEXT_PAGE_HEADER] = str(page.next_before)
    return [entry.wire() for entry in page.items]
