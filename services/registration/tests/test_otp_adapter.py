"""The otp adapter's translation of the otp service's answers (a fake RPC client)."""

from __future__ import annotations

from typing import Any

import pytest

from services.registration.adapters.otp import RpcOtpGateway
from services.registration.domain.errors import ExternalUnavailable, OtpRejected
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable


class FakeRpc(RpcClient):
    def __init__(self, answer: Any) -> None:  # no NATS connection
        self.answer = answer
        self.calls: list[tuple[str, str, dict[str, Any] | None]] = []

    async def call(self, service: str, endpoint: str, payload: dict[str, Any] | None = None,
                   timeout: float | None = None) -> Any:
        self.calls.append((service, endpoint, payload))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


async def test_issue_and_verify_call_the_otp_service() -> None:
    rpc = FakeRpc({"challenge_id": "c", "phone_masked": "+8491****678",
                   "expires_at": "2026-01-01T00:05:00Z",
                   "resend_available_at": "2026-01-01T00:01:00Z"})
    issued = await RpcOtpGateway(rpc).issue("r-1", "registration", "+84912345678")
    assert issued.resend_available_at == "2026-01-01T00:01:00Z"
    rpc.answer = {"verified": True, "phone": "+84912345678", "challenge_id": "c"}
    await RpcOtpGateway(rpc).verify("r-1", "registration", "+84912345678", "123456")
    assert rpc.calls == [
        ("otp", "issue", {"flow_id": "r-1", "purpose": "registration", "phone": "+84912345678"}),
        ("otp", "verify", {"flow_id": "r-1", "purpose": "registration",
                           "phone": "+84912345678", "code": "123456"}),
    ]


async def test_otp_errors_keep_their_code_detail_and_retry_after() -> None:
    rpc = FakeRpc(RemoteError({"code": "otp_send_limit", "detail": "Quá 5 lần/giờ.",
                               "retry_after": 1800}))
    with pytest.raises(OtpRejected) as err:
        await RpcOtpGateway(rpc).issue("r-1", "registration", "+84912345678")
    assert err.value.to_error() == {"code": "otp_send_limit", "detail": "Quá 5 lần/giờ.",
                                    "retry_after": 1800}


async def test_no_live_code_is_not_a_missing_registration() -> None:
    rpc = FakeRpc(RemoteError({"code": "not_found", "detail": "Không tìm thấy."}))
    with pytest.raises(OtpRejected) as err:
        await RpcOtpGateway(rpc).verify("r-1", "registration", "+84912345678", "123456")
    assert err.value.code == "otp_expired" and "Gửi lại OTP" in err.value.detail


async def test_a_silent_otp_service_is_external_unavailable() -> None:
    with pytest.raises(ExternalUnavailable):
        await RpcOtpGateway(FakeRpc(ServiceUnavailable("otp"))).verify("r", "registration",
                                                                      "+84912345678", "1")


async def test_the_timing_is_asked_of_otp_once() -> None:
    rpc = FakeRpc({"code_digits": 6, "code_lifetime_seconds": 300, "resend_interval_seconds": 60,
                   "max_attempts": 5})
    otp = RpcOtpGateway(rpc)
    assert (await otp.policy()).resend_interval_seconds == 60
    assert (await otp.policy()).code_lifetime_seconds == 300
    assert rpc.calls == [("otp", "policy", {})]
