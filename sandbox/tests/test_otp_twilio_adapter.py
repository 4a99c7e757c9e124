"""The otp service's real SMS adapter (the Twilio SDK with its custom ``http_client``) against
the sandbox world's Twilio-compatible endpoint over HTTP: a message lands in the inbox, and
each error answer the world can be told to give is handled as the adapter promises (retried
where it makes sense, otherwise a delivery error naming Twilio's code, never the text)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from sandbox.app import create_app
from sandbox.config import SandboxSettings
from sandbox.tests.live import served
from services.otp.adapters.sms import TwilioSmsSender
from services.otp.domain.model import sms_body
from services.otp.domain.ports import SmsDeliveryError

SETTINGS = SandboxSettings()
PHONE = "+84903456789"


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with served(create_app(SETTINGS)) as url:
        yield url


@pytest.fixture
async def sender(sandbox_url: str) -> AsyncIterator[tuple[TwilioSmsSender, list[float]]]:
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    sender = TwilioSmsSender(SETTINGS.twilio_account_sid, SETTINGS.twilio_auth_token, "DVCQG",
                             api_base=f"{sandbox_url}/twilio", sleep=no_wait)
    yield sender, waits
    await sender.close()
    async with httpx.AsyncClient() as client:
        await client.delete(f"{sandbox_url}/dev/sms-faults")


async def set_fault(sandbox_url: str, phone: str, fault: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{sandbox_url}/dev/sms-faults",
                                     json={"phone": phone, "fault": fault})
        assert response.status_code == 200


async def inbox(sandbox_url: str, phone: str) -> list[dict[str, str]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{sandbox_url}/dev/sms", params={"phone": phone})
    messages: list[dict[str, str]] = response.json()
    return messages


async def test_the_otp_text_reaches_the_inbox(sender: tuple[TwilioSmsSender, list[float]],
                                              sandbox_url: str) -> None:
    await sender[0].send("+84912000222", sms_body("482913", "login"))
    [message] = await inbox(sandbox_url, "+84912000222")
    assert message["body"] == sms_body("482913", "login") and message["from"] == "DVCQG"
    assert "482913" in message["body"] and "5 phut" in message["body"]


@pytest.mark.parametrize(("fault", "status", "code", "attempts"), [
    ("invalid_number", 400, 21211, 1),  # permanent: no retry
    ("unreachable", 400, 21614, 1),     # permanent: no retry
    ("rate_limit", 429, 20429, 3),      # retried with backoff, then given up
    ("server_error", 500, 20500, 3),
])
async def test_each_error_answer_of_the_world_is_handled(
        sender: tuple[TwilioSmsSender, list[float]], sandbox_url: str, fault: str, status: int,
        code: int, attempts: int) -> None:
    adapter, waits = sender
    await set_fault(sandbox_url, PHONE, fault)
    with pytest.raises(SmsDeliveryError) as err:
        await adapter.send(PHONE, sms_body("135790", "login"))
    assert err.value.status == status and err.value.provider_code == code
    assert "135790" not in str(err.value)
    assert len(waits) == attempts - 1
    assert await inbox(sandbox_url, PHONE) == []


async def test_a_fault_that_clears_is_retried_into_a_delivery(
        sender: tuple[TwilioSmsSender, list[float]], sandbox_url: str) -> None:
    adapter, waits = sender
    phone = "+84912000333"
    await set_fault(sandbox_url, phone, "rate_limit")

    async def clear_then_wait(seconds: float) -> None:
        waits.append(seconds)
        await set_fault(sandbox_url, phone, "none")

    adapter._sleep = clear_then_wait
    await adapter.send(phone, sms_body("246802", "login"))
    assert len(waits) == 1
    assert (await inbox(sandbox_url, phone))[0]["body"] == sms_body("246802", "login")
