"""The profile adapter: what ``stage_credential`` is asked, and profile's refusals of the
password (its rule, issue 16) turned into this service's errors with the same JSON, so the
gateway's problem is unchanged (a fake RPC client)."""

from __future__ import annotations

from typing import Any

import pytest

from services.registration.adapters.profile import RpcCredentialOwner
from services.registration.domain.errors import (
    ExternalUnavailable,
    PasswordMismatch,
    PasswordPolicyViolation,
    ProfileRejected,
)
from shared.contracts.base import AnswerT, RequestT, Rpc
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

# What registration answered before profile owned the rule (its to_error()s then).
POLICY_ERROR = {
    "code": "password_policy",
    "detail": "Mật khẩu chưa đạt yêu cầu. Mật khẩu cần: có ít nhất một chữ cái in hoa (A–Z); "
              "không chứa số điện thoại của bạn.",
    "fields": [
        {"name": "password", "rule": "uppercase",
         "detail": "Mật khẩu cần có ít nhất một chữ cái in hoa (A–Z)."},
        {"name": "password", "rule": "no_phone",
         "detail": "Mật khẩu cần không chứa số điện thoại của bạn."},
    ],
}
MISMATCH_ERROR = {
    "code": "password_mismatch",
    "detail": "Mật khẩu nhập lại không khớp với mật khẩu đã nhập.",
    "fields": [{"name": "password_confirmation",
                "detail": "Mật khẩu nhập lại không khớp với mật khẩu đã nhập."}],
}


class FakeRpc(RpcClient):
    """Answers every ``ask`` with ``answer`` (an error is raised), checked against the
    endpoint's answer model as the real client does; no NATS connection."""

    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer
        self.asked: list[tuple[str, dict[str, Any]]] = []

    async def ask(self, rpc: Rpc[RequestT, AnswerT], request: RequestT,
                  timeout: float | None = None) -> AnswerT:
        self.asked.append((rpc.subject, request.wire()))
        if isinstance(self.answer, Exception):
            raise self.answer
        return rpc.answer.model_validate(self.answer)


async def stage(rpc: FakeRpc) -> str:
    return await RpcCredentialOwner(rpc).stage(
        "r-1", "Tr@ng-Sen-2026!", confirmation="Tr@ng-Sen-2026!", id_number="001090012345",
        phone="+84912345678")


async def test_the_password_goes_with_what_the_rule_needs() -> None:
    rpc = FakeRpc({"credential_id": "cred-1"})
    assert await stage(rpc) == "cred-1"
    assert rpc.asked == [("dvcid.profile.stage_credential", {
        "registration_id": "r-1", "password": "Tr@ng-Sen-2026!",
        "password_confirmation": "Tr@ng-Sen-2026!", "id_number": "001090012345",
        "phone": "+84912345678"})]


@pytest.mark.parametrize("error, kind", [(POLICY_ERROR, PasswordPolicyViolation),
                                         (MISMATCH_ERROR, PasswordMismatch)])
async def test_a_refused_password_keeps_its_json(error: dict[str, Any],
                                                 kind: type[Exception]) -> None:
    with pytest.raises(kind) as refused:
        await stage(FakeRpc(RemoteError(error)))
    assert refused.value.to_error() == error  # type: ignore[attr-defined]


def test_registrations_own_mismatch_is_the_same_json() -> None:
    assert PasswordMismatch().to_error() == MISMATCH_ERROR


async def test_the_policy_error_names_its_rules() -> None:
    with pytest.raises(PasswordPolicyViolation) as refused:
        await stage(FakeRpc(RemoteError(POLICY_ERROR)))
    assert refused.value.rules == ["uppercase", "no_phone"]


async def test_other_refusals_and_silence() -> None:
    with pytest.raises(ProfileRejected) as refused:
        await stage(FakeRpc(RemoteError({"code": "validation_error", "detail": "Sai."})))
    assert refused.value.to_error() == {"code": "validation_error", "detail": "Sai."}
    with pytest.raises(ExternalUnavailable):
        await stage(FakeRpc(ServiceUnavailable("profile")))
    with pytest.raises(ExternalUnavailable):
        await stage(FakeRpc({"credential_id": ""}))
