"""The otp service, reached over NATS request/reply (``shared/contracts/otp.py``)."""

from __future__ import annotations

from dataclasses import replace

from services.profile.domain.errors import OtpRejected
from shared.contracts import otp as OTP
from shared.contracts.base import AnswerT, Empty, RequestT, Rpc
from shared.rpc import RemoteError, RpcClient


class RpcOtpService:
    def __init__(self, rpc: RpcClient, timeout: float | None = None,
                 service: str = OTP.ISSUE.service) -> None:
        self._rpc = rpc
        self._timeout = timeout
        # The same contract served under another name: a test's stand-in on shared servers.
        self._service = service
        self._policy: OTP.OtpPolicy | None = None

    async def issue(self, flow_id: str, purpose: str, phone: str) -> OTP.IssuedOtp:
        return await self._ask(OTP.ISSUE, OTP.IssueOtp.model_validate(
            {"flow_id": flow_id, "purpose": purpose, "phone": phone}))

    async def verify(self, flow_id: str, purpose: str, phone: str,
                     code: str) -> OTP.VerifiedOtp:
        return await self._ask(OTP.VERIFY, OTP.VerifyOtp.model_validate(
            {"flow_id": flow_id, "purpose": purpose, "phone": phone, "code": code}))

    async def policy(self) -> OTP.OtpPolicy:
        """otp's timing and attempts, read once: decoys imitate them without sending."""
        if self._policy is None:
            self._policy = await self._ask(OTP.POLICY, Empty())
        return self._policy

    async def _ask(self, endpoint: Rpc[RequestT, AnswerT], request: RequestT) -> AnswerT:
        try:
            return await self._rpc.ask(replace(endpoint, service=self._service), request,
                                       timeout=self._timeout)
        except RemoteError as exc:
            # Passed through as the otp service said it: same code, detail and retry_after.
            retry_after = exc.error.get("retry_after")
            raise OtpRejected(exc.code, exc.error.get("detail"),
                              retry_after=int(retry_after) if retry_after is not None
                              else None) from None
