"""The otp service, reached over NATS request/reply (docs/messaging.md, ``dvcid.otp.*``)."""

from __future__ import annotations

from typing import Any

from services.registration.domain.errors import ExternalUnavailable, OtpRejected
from services.registration.domain.ports import OtpIssued
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

OTP_SERVICE = "otp"
UNAVAILABLE_DETAIL = "Dịch vụ mã OTP tạm thời không phản hồi. Vui lòng thử lại sau ít phút."
# otp answers not_found when no live code exists for the flow (never sent, used, purged).
# Passed through as-is it would read as "this registration does not exist".
_NO_LIVE_CODE_DETAIL = "Mã OTP đã hết hiệu lực hoặc chưa được gửi. Vui lòng bấm «Gửi lại OTP»."


class RpcOtpGateway:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def issue(self, flow_id: str, purpose: str, phone: str) -> OtpIssued:
        data = await self._call("issue", {"flow_id": flow_id, "purpose": purpose, "phone": phone})
        return OtpIssued(expires_at=str(data.get("expires_at", "")),
                         resend_available_at=str(data.get("resend_available_at", "")))

    async def verify(self, flow_id: str, purpose: str, phone: str, code: str) -> None:
        data = await self._call("verify", {"flow_id": flow_id, "purpose": purpose,
                                           "phone": phone, "code": code})
        if not data.get("verified"):
            raise OtpRejected("otp_invalid", "Mã OTP không đúng.")

    async def _call(self, endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            data = await self._rpc.call(OTP_SERVICE, endpoint, payload)
        except ServiceUnavailable as exc:
            raise ExternalUnavailable(UNAVAILABLE_DETAIL) from exc
        except RemoteError as exc:
            raise _rejection(exc.error) from exc
        return data if isinstance(data, dict) else {}


def _rejection(error: dict[str, Any]) -> OtpRejected:
    code = str(error.get("code") or "internal")
    if code == "not_found":
        return OtpRejected("otp_expired", _NO_LIVE_CODE_DETAIL)
    retry_after = error.get("retry_after")
    return OtpRejected(code, error.get("detail"),
                       retry_after=int(retry_after) if retry_after is not None else None,
                       fields=error.get("fields"))
