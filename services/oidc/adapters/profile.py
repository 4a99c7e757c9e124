"""Profile, asked for an account's claims (its internal ``oidc_claims`` endpoint)."""

from __future__ import annotations

from typing import Any

from shared.contracts import profile as PROFILE
from shared.rpc import RemoteError, RpcClient


class ProfileClaims:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def claims(self, account_id: str) -> dict[str, Any] | None:
        try:
            answer = await self._rpc.ask(PROFILE.OIDC_CLAIMS,
                                         PROFILE.ClaimsSubject(account_id=account_id))
        except RemoteError as exc:
            if exc.code == "unauthenticated":  # the account is gone
                return None
            raise
        return answer.model_dump(mode="json")

    async def session_alive(self, account_id: str, session_id: str) -> bool:
        answer = await self._rpc.ask(PROFILE.OIDC_SESSION_ALIVE, PROFILE.LiveSessionRef(
            account_id=account_id, session_id=session_id))
        return answer.alive
