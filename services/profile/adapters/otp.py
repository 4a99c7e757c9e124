"""The otp service, reached over NATS request/reply (docs/messaging.md, ``dvcid.otp.*``)."""

from __future__ import annotations

from typing import Any

from services.profile.domain.errors import OtpRejected
from shared.rpc import RemoteError, RpcClient

OTP_SERVICE = "otp"


class RpcOtpService:
    def __init__(self, rpc: RpcClient, timeout: float | None = None,
                 service: str = OTP_SERVICE) -> None:
        self._rpc = rpc
        self._timeout = timeout
        self._service = service

    async def issue(self, flow_id: str, purpose: str, phone: str) -> dict[str, Any]:
        return await self._call("issue", {"flow_id": flow_id, "purpose": purpose, "phone": phone})

    async def verify(self, flow_id: str, purpose: str, phone: str,
                     code: str) -> dict[str, Any]:
        return await self._call("verify", {"flow_id": flow_id, "purpose": purpose,
                                           "phone": phone, "code": code})

    async def _call(self, endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            data = await self._rpc.call(self._service, endpoint, payload, timeout=self._timeout)
        except RemoteError as exc:
            # Passed through as the otp service said it: same code, detail and retry_after.
            retry_after = exc.error.get("retry_after")
            raise OtpRejected(exc.code, exc.error.get("detail"),
                              retry_after=int(retry_after) if retry_after is not None
                              else None) from None
        return dict(data or {})
