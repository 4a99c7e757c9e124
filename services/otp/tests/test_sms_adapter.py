"""The Twilio adapter, through the real SDK, against a local Twilio-compatible endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from services.otp.adapters.sms import TwilioSmsSender, rewrite_url
from services.otp.domain.ports import SmsDeliveryError
from services.otp.tests.twilio_stub import TwilioStub
from shared.tests.spans import recorded_spans

pytestmark = pytest.mark.integration

SID = "ACtest000000000000000000000000000"
TOKEN = "test-twilio-token"
BODY = "Ma OTP dang ky/dang nhap Cong DVCQG cua ban la 123456, hieu luc 5 phut."


@pytest.fixture
async def stub() -> AsyncIterator[TwilioStub]:
    stub = await TwilioStub().start()
    yield stub
    await stub.stop()


@pytest.fixture
async def sender(stub: TwilioStub) -> AsyncIterator[TwilioSmsSender]:
    delays: list[float] = []

    async def no_wait(seconds: float) -> None:
        delays.append(seconds)

    sender = TwilioSmsSender(SID, TOKEN, "DVCQG", api_base=stub.base, sleep=no_wait)
    yield sender
    await sender.close()


def test_only_twilio_urls_are_redirected() -> None:
    url = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
    assert rewrite_url(url, "http://127.0.0.1:8100/twilio/") == \
        f"http://127.0.0.1:8100/twilio/2010-04-01/Accounts/{SID}/Messages.json"
    assert rewrite_url(url, None) == url
    assert rewrite_url("https://example.org/x", "http://h/t") == "https://example.org/x"


async def test_a_message_is_posted_as_twilio_expects(stub: TwilioStub,
                                                     sender: TwilioSmsSender) -> None:
    await sender.send("+84912345678", BODY)
    await sender.send("+84987654321", BODY)
    first = stub.received[0]
    assert first.path == f"/twilio/2010-04-01/Accounts/{SID}/Messages.json"
    assert first.auth == (SID, TOKEN)
    assert first.form == {"To": "+84912345678", "From": "DVCQG", "Body": BODY}
    assert len(stub.received) == 2


async def test_a_permanent_error_fails_at_once(stub: TwilioStub, sender: TwilioSmsSender) -> None:
    stub.script = [(400, 21211)]
    with pytest.raises(SmsDeliveryError) as err:
        await sender.send("+84900000000", BODY)
    assert (err.value.status, err.value.provider_code) == (400, 21211)
    assert "123456" not in err.value.reason
    assert len(stub.received) == 1


async def test_throttling_and_server_errors_are_retried(stub: TwilioStub,
                                                        sender: TwilioSmsSender) -> None:
    stub.script = [(429, 20429), (500, 20500)]
    await sender.send("+84912345678", BODY)
    assert len(stub.received) == 3


async def test_retries_are_bounded(stub: TwilioStub, sender: TwilioSmsSender) -> None:
    stub.script = [(503, 20503)] * 10
    with pytest.raises(SmsDeliveryError) as err:
        await sender.send("+84912345678", BODY)
    assert err.value.status == 503
    assert len(stub.received) == 3


async def test_an_unreachable_gateway_is_a_delivery_error() -> None:
    async def no_wait(seconds: float) -> None:
        return None

    sender = TwilioSmsSender(SID, TOKEN, "DVCQG", api_base="http://127.0.0.1:9/twilio",
                             sleep=no_wait)
    try:
        with pytest.raises(SmsDeliveryError) as err:
            await sender.send("+84912345678", BODY)
        assert err.value.reason.startswith("network")
    finally:
        await sender.close()


async def test_each_sms_is_one_client_span_with_the_providers_answer_code_only(
        stub: TwilioStub, sender: TwilioSmsSender) -> None:
    stub.script = [(429, 20429)]  # retried inside the one span
    with recorded_spans("otp") as spans:
        await sender.send("+84912345678", BODY)
        stub.script = [(400, 21211)]
        with pytest.raises(SmsDeliveryError):
            await sender.send("+84900000000", BODY)
    sent, refused = spans.get_finished_spans()
    assert (sent.name, sent.kind) == ("sms.send", SpanKind.CLIENT)
    assert dict(sent.attributes or {}) == {"peer.service": "twilio",
                                           "dvcid.provider_answer": "accepted"}
    assert dict(refused.attributes or {})["dvcid.provider_answer"] == "21211"
    assert refused.status.status_code is StatusCode.ERROR
    assert not any("84900000000" in str(value) for value in (refused.attributes or {}).values())
