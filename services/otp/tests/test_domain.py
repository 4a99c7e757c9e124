"""Pure rules: codes, hashes, masks, the SMS text, input checks, refusals, error objects."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.otp.domain.commands import checked_code
from services.otp.domain.errors import (
    ChallengeNotFound,
    InvalidInput,
    OtpAttemptsExceeded,
    OtpExpired,
    OtpInvalid,
    OtpResendTooSoon,
    OtpSendLimit,
    SmsFailed,
)
from services.otp.domain.model import (
    PURPOSES,
    SMS_ACTIONS,
    Challenge,
    ensure_can_send,
    hash_code,
    new_code,
    refusal,
    seconds_until,
    sms_body,
    storage_time,
)
from shared.contracts import otp as OTP
from shared.contracts.base import ContractViolation
from shared.crypto import keyed_hash
from shared.phones import mask_phone
from shared.rpc import serving

NOW = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def _challenge(**changes: object) -> Challenge:
    values: dict[str, object] = dict(
        id="c1", purpose="registration", flow_id="f1", phone="+84912345678", code_hash="h",
        sent_at=NOW, expires_at=NOW + timedelta(minutes=5))
    values.update(changes)
    return Challenge(**values)  # type: ignore[arg-type]


def test_codes_are_six_random_digits() -> None:
    codes = {new_code() for _ in range(300)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 250  # random, leading zeros kept by the format


def test_the_stored_value_is_a_keyed_hash_bound_to_the_challenge() -> None:
    assert hash_code("s", "c1", "+84912345678", "123456") == \
        keyed_hash("s", "c1:+84912345678:123456")
    assert hash_code("s", "c1", "+84912345678", "123456") != \
        hash_code("s", "c2", "+84912345678", "123456")
    # The code is bound to the number it was sent to.
    assert hash_code("s", "c1", "+84912345678", "123456") != \
        hash_code("s", "c1", "+84987654321", "123456")
    assert "123456" not in hash_code("s", "c1", "+84912345678", "123456")


def test_the_sms_text_is_the_documented_single_segment_ascii_text() -> None:
    body = sms_body("042917", "login")
    assert body == ("Ma OTP dang nhap Cong DVCQG: 042917, hieu luc 5 phut. "
                    "Khong chia se ma nay voi bat ky ai.")
    assert body.isascii() and len(body) <= 160


@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_purpose_has_its_own_text_that_warns(purpose: str) -> None:
    body = sms_body("042917", purpose)
    assert SMS_ACTIONS[purpose] in body and "khong chia se ma nay voi bat ky ai" in body.lower()
    assert body.isascii() and len(body) <= 160
    # The code is the only 6-digit number: tests and phones find it with \b\d{6}\b.
    assert re.findall(r"\b\d{6}\b", body) == ["042917"]
    others = [a for p, a in SMS_ACTIONS.items() if p != purpose and a not in SMS_ACTIONS[purpose]]
    assert not any(action in body for action in others)


def test_phones_are_masked_as_in_the_contract() -> None:
    assert mask_phone("+84912345678") == "+8491****678"


def test_storage_time_keeps_milliseconds_only() -> None:
    assert storage_time(NOW.replace(microsecond=123456)).microsecond == 123000


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert seconds_until(NOW + timedelta(seconds=59.2), NOW) == 60
    assert seconds_until(NOW, NOW) == 1


def test_a_resend_waits_sixty_seconds_and_a_locked_challenge_gets_none() -> None:
    ensure_can_send(None, NOW)
    with pytest.raises(OtpResendTooSoon) as err:
        ensure_can_send(_challenge(), NOW + timedelta(seconds=45))
    assert err.value.retry_after == 15
    ensure_can_send(_challenge(), NOW + timedelta(seconds=60))
    with pytest.raises(OtpAttemptsExceeded):
        ensure_can_send(_challenge(failures=5), NOW + timedelta(minutes=10))


@pytest.mark.parametrize(("challenge", "expected"), [
    (None, ChallengeNotFound),
    (_challenge(failures=5), OtpAttemptsExceeded),
    (_challenge(used_at=NOW), OtpExpired),
    (_challenge(code_hash=None), OtpExpired),
    (_challenge(expires_at=NOW), OtpExpired),
    (_challenge(), OtpInvalid),
])
def test_refusals_say_why(challenge: Challenge | None, expected: type) -> None:
    assert isinstance(refusal(challenge, NOW), expected)


def test_error_objects_follow_the_reply_format() -> None:
    assert OtpResendTooSoon(42).to_error() == {
        "code": "otp_resend_too_soon",
        "detail": "Vui lòng đợi 42 giây trước khi yêu cầu gửi lại mã OTP.", "retry_after": 42}
    assert OtpSendLimit(3600).to_error()["retry_after"] == 3600
    assert "60 phút" in OtpSendLimit(3600).detail
    assert "còn 3 lần" in OtpInvalid(3).detail
    assert OtpInvalid(0).to_error()["code"] == "otp_invalid"
    assert SmsFailed().to_error() == {"code": "sms_failed", "detail": SmsFailed.default_detail}
    assert ChallengeNotFound().to_error()["code"] == "not_found"


async def _unserved(request: object) -> Any:
    raise AssertionError("a refused request never reaches the handler")


async def test_commands_are_checked_at_the_edge() -> None:
    assert OTP.IssueOtp.model_validate(
        {"flow_id": "f", "purpose": "login", "phone": "+84912345678"}) == \
        OTP.IssueOtp(flow_id="f", purpose="login", phone="+84912345678")
    assert checked_code(" 012345 ") == "012345"
    with pytest.raises(ContractViolation) as err:  # a code is verified for a named number only
        await serving(OTP.VERIFY, _unserved)({"flow_id": "f", "purpose": "login", "code": "012345"})
    assert [f["name"] for f in err.value.to_error()["fields"]] == ["phone"]
    with pytest.raises(ContractViolation) as err:
        await serving(OTP.ISSUE, _unserved)({"flow_id": "", "purpose": "dance",
                                             "phone": "0912345678"})
    error = err.value.to_error()
    assert error["code"] == "validation_error"
    assert {f["name"] for f in error["fields"]} == {"flow_id", "purpose", "phone"}
    with pytest.raises(InvalidInput) as refused:
        checked_code("12345")
    assert refused.value.to_error()["fields"] == [{"name": "code",
                                                   "detail": "Mã OTP gồm 6 chữ số."}]
