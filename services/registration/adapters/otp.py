"""The otp service, reached over NATS request/reply (``shared/contracts/otp.py``)."""

from __future__ import annotations

from services.registration.domain.errors import ExternalUnavailable, OtpRejected
from shared.contracts import otp as OTP
from shared.contracts.base import AnswerT, Empty, RequestT, Rpc
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

UNAVAILABLE_DETAIL = "Dịch vụ mã OTP tạm thời không phản hồi. Vui lòng thử lại sau ít phút."
# otp answers not_found when no live code exists for the flow (never sent, used, purged).
# Passed through as-is it would read as "this registration does not exist".
_NO_LIVE_CODE_DETAIL = "Mã OTP đã hết hiệu lực hoặc chưa được gửi. Vui lòng bấm «Gửi lại OTP»."


class RpcOtpGateway:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc
        self._policy: OTP.OtpPolicy | None = None

    async def issue(self, flow_id: str, purpose: str, phone: str) -> OTP.IssuedOtp:
        return await self._ask(OTP.ISSUE, OTP.IssueOtp.model_validate(
            {"flow_id": flow_id, "purpose": purpose, "phone": phone}))

    async def verify(self, flow_id: str, purpose: str, phone: str, code: str) -> None:
        verified = await self._ask(OTP.VERIFY, OTP.VerifyOtp.model_validate(
            {"flow_id": flow_id, "purpose": purpose, "phone": phone, "code": code}))
        if not verified.verified:
            raise OtpRejected("otp_invalid", "Mã OTP không đúng.")

    async def policy(self) -> OTP.OtpPolicy:
        """otp's timing (when a new code may be asked), read once: it is otp's rule."""
        if self._policy is None:
            self._policy = await self._ask(OTP.POLICY, Empty())
        return self._policy

    async def _ask(self, endpoint: Rpc[RequestT, AnswerT], request: RequestT) -> AnswerT:
        try:
            return await self._rpc.ask(endpoint, request)
        except ServiceUnavailable as exc:
            raise ExternalUnavailable(UNAVAILABLE_DETAIL) from exc
        except RemoteError as exc:
            raise _rejection(exc) from exc


def _rejection(refusal: RemoteError) -> OtpRejected:
    """otp's refusal in registration's words: its code passed through, but a missing code
    told as expired."""
    error = refusal.error
    code = str(error.get("code") or "internal")
    if code == "not_found":
        return OtpRejected("otp_expired", _NO_LIVE_CODE_DETAIL)
    retry_after = error.get("retry_after")
    return OtpRejected(code, error.get("detail"),
                       retry_after=int(retry_after) if retry_after is not None else None,
                       fields=error.get("fields"))
