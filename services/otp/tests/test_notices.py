"""send_notice: the text comes from a template; a secret parameter goes only into the SMS."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from services.otp.domain.errors import InvalidInput, SmsFailed
from services.otp.domain.notices import INITIAL_PASSWORD, SECURITY_CHANGE, SmsNotice
from services.otp.domain.ports import SmsDeliveryError
from services.otp.notices import Notices
from services.otp.tests.fakes import FakeSms
from shared.clock import FrozenClock
from shared.contracts import otp as OTP
from shared.contracts.base import ContractViolation
from shared.rpc import serving

PASSWORD = "Xk7#mQ2v!Rp9"


def _payload(**changes: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "phone": "+84912345678", "purpose": "registration", "body_kind": INITIAL_PASSWORD,
        "params": {"username": "BD0123456789", "password": PASSWORD}}
    payload.update(changes)
    return payload


def _notices(sms: FakeSms) -> Notices:
    return Notices(sms, FrozenClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC)))


# Over the endpoints, as a caller's request arrives: its contract first, then otp's rules.
async def send_notice(notices: Notices, payload: Mapping[str, Any]) -> Any:
    return await serving(OTP.SEND_NOTICE, notices.send_notice)(dict(payload))


async def send_email_notice(notices: Notices, payload: Mapping[str, Any]) -> Any:
    return await serving(OTP.SEND_EMAIL_NOTICE, notices.send_email_notice)(dict(payload))


def _named(refused: BaseException) -> list[str]:
    assert isinstance(refused, InvalidInput | ContractViolation)
    return [f if isinstance(f, str) else f["name"] for f in refused.to_error().get("fields", [])]


async def test_the_initial_password_goes_to_the_phone_in_one_gsm_segment() -> None:
    sms = FakeSms()
    answer = await send_notice(_notices(sms), _payload())
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
    with pytest.raises((InvalidInput, ContractViolation)) as refused:
        await send_notice(_notices(sms), _payload(**changes))
    assert field in _named(refused.value)
    assert sms.sent == []


async def test_the_error_never_echoes_the_secret() -> None:
    with pytest.raises(InvalidInput) as refused:
        SmsNotice.of(OTP.SendNotice.model_validate(
            _payload(params={"username": "x", "password": "a b"})))
    assert "a b" not in str(refused.value.to_error())


async def test_a_refused_sms_is_sms_failed() -> None:
    sms = FakeSms()
    sms.fail_with = SmsDeliveryError("unreachable", status=400, provider_code=21211)
    with pytest.raises(SmsFailed):
        await send_notice(_notices(sms), _payload())


async def test_a_security_change_notice_names_the_change_time_and_device() -> None:
    sms = FakeSms()
    await send_notice(_notices(sms), _payload(
        purpose="login", body_kind=SECURITY_CHANGE,
        params={"change": "sms_added", "at": "15:00 01/03/2026", "device": "Chrome tren Windows"}))
    [sent] = sms.sent
    assert "them so dien thoai" in sent.body and "15:00 01/03/2026" in sent.body
    assert "Chrome tren Windows" in sent.body and "Neu khong phai ban" in sent.body
    assert len(sent.body) <= 160 and sent.body.isascii()


@pytest.mark.parametrize("params", [
    {"change": "anything you like", "at": "15:00 01/03/2026", "device": "Chrome"},
    {"change": "sms_added", "at": "tomorrow", "device": "Chrome"},
    {"change": "sms_added", "at": "15:00 01/03/2026", "device": "Goi 0912345678 ngay"},
])
async def test_a_security_change_notice_carries_no_free_text(params: dict[str, str]) -> None:
    sms = FakeSms()
    with pytest.raises(InvalidInput):
        await send_notice(_notices(sms), _payload(purpose="login", body_kind=SECURITY_CHANGE,
                                                 params=params))
    assert sms.sent == []


class FakeEmail:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


_EMAIL_NOTICE = {"email": "an.nguyen@example.vn", "body_kind": SECURITY_CHANGE,
                 "params": {"change": "email_changed", "at": "15:00 01/03/2026",
                            "device": "Chrome tren Windows"}}


async def test_a_security_change_e_mail_names_the_change_time_and_device() -> None:
    email = FakeEmail()
    notices = Notices(FakeSms(), FrozenClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC)), email)
    answer = await send_email_notice(notices, dict(_EMAIL_NOTICE))
    assert answer["sent"] is True
    [(to, subject, body)] = email.sent
    assert to == "an.nguyen@example.vn" and "đổi địa chỉ email" in subject
    assert "15:00 01/03/2026" in body and "Chrome tren Windows" in body
    assert "Nếu không phải bạn" in body


async def test_without_a_mail_relay_no_e_mail_is_sent_and_the_caller_is_told() -> None:
    answer = await send_email_notice(_notices(FakeSms()), dict(_EMAIL_NOTICE))
    assert answer == {"sent": False}
    with pytest.raises(InvalidInput):  # a header injection is no address
        await send_email_notice(_notices(FakeSms()),
            _EMAIL_NOTICE | {"email": "a@example.vn\r\nBcc: b@example.vn"})
