"""send_notice: the text comes from a template; a secret parameter goes only into the SMS."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.otp.domain.errors import InvalidInput, SmsFailed
from services.otp.domain.notices import INITIAL_PASSWORD, SendNotice
from services.otp.domain.ports import SmsDeliveryError
from services.otp.notices import Notices
from services.otp.tests.fakes import FakeSms
from shared.clock import FrozenClock

PASSWORD = "Xk7#mQ2v!Rp9"


def _payload(**changes: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "phone": "+84912345678", "purpose": "registration", "body_kind": INITIAL_PASSWORD,
        "params": {"username": "BD0123456789", "password": PASSWORD}}
    payload.update(changes)
    return payload


def _notices(sms: FakeSms) -> Notices:
    return Notices(sms, FrozenClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC)))


async def test_the_initial_password_goes_to_the_phone_in_one_gsm_segment() -> None:
    sms = FakeSms()
    answer = await _notices(sms).send_notice(_payload())
    assert answer["phone_masked"] == "+8491****678"
    [sent] = sms.sent
    assert sent.to == "+84912345678"
    assert "BD0123456789" in sent.body and PASSWORD in sent.body
    assert len(sent.body) <= 160 and sent.body.isascii()


@pytest.mark.parametrize("changes, field", [
    ({"body_kind": "free_text"}, "body_kind"),
    ({"phone": "0912345678"}, "phone"),
    ({"purpose": "marketing"}, "purpose"),
    ({"params": {"username": "BD0123456789", "password": "short"}}, "params.password"),
    ({"params": {"username": "hello world", "password": PASSWORD}}, "params.username"),
    ({"params": {"username": "BD0123456789", "password": "has space 12345"}}, "params.password"),
])
async def test_a_bad_request_sends_nothing(changes: dict[str, object], field: str) -> None:
    sms = FakeSms()
    with pytest.raises(InvalidInput) as refused:
        await _notices(sms).send_notice(_payload(**changes))
    assert field in [f["name"] for f in refused.value.fields or []]
    assert sms.sent == []


async def test_the_error_never_echoes_the_secret() -> None:
    with pytest.raises(InvalidInput) as refused:
        SendNotice.parse(_payload(params={"username": "x", "password": "a b"}))
    assert "a b" not in str(refused.value.to_error())


async def test_a_refused_sms_is_sms_failed() -> None:
    sms = FakeSms()
    sms.fail_with = SmsDeliveryError("unreachable", status=400, provider_code=21211)
    with pytest.raises(SmsFailed):
        await _notices(sms).send_notice(_payload())
