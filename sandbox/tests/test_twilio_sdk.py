"""The official Twilio SDK, pointed at the sandbox through a custom ``http_client`` (as the otp
service's adapter is), sends messages and meets the faults as ``TwilioRestException``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from dvcid.servers import free_port
from sandbox.app import create_app
from sandbox.config import SandboxSettings

SID = "ACdvciddev0000000000000000000000"
TOKEN = "dev-insecure-twilio-token"


class RedirectingHttpClient(TwilioHttpClient):
    """Sends what the SDK addresses to api.twilio.com to the sandbox's Twilio routes."""

    def __init__(self, api_base: str) -> None:
        super().__init__()
        self._api_base = api_base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        url = url.replace("https://api.twilio.com", self._api_base, 1)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(SandboxSettings()), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "sandbox did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def twilio(sandbox_url: str) -> Client:
    return Client(SID, TOKEN, http_client=RedirectingHttpClient(f"{sandbox_url}/twilio"))


def test_the_sdk_sends_and_the_inbox_shows_the_message(twilio: Client, sandbox_url: str) -> None:
    message = twilio.messages.create(to="0983456789", from_="DVCQG", body="Ma OTP la 654321")
    assert message.sid is not None and message.sid.startswith("SM")
    assert message.status == "queued"
    assert message.to == "+84983456789"
    assert message.date_created is not None and message.date_created.year >= 2024
    inbox = httpx.get(f"{sandbox_url}/dev/sms", params={"phone": "+84983456789"}).json()
    assert inbox[0]["body"] == "Ma OTP la 654321"
    assert inbox[0]["sid"] == message.sid


def test_wrong_credentials_raise_20003(sandbox_url: str) -> None:
    client = Client(SID, "wrong", http_client=RedirectingHttpClient(f"{sandbox_url}/twilio"))
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to="+84983456789", from_="DVCQG", body="x")
    assert raised.value.status == 401 and raised.value.code == 20003


@pytest.mark.parametrize(("fault", "status", "code"), [
    ("invalid_number", 400, 21211), ("unreachable", 400, 21614),
    ("rate_limit", 429, 20429), ("server_error", 500, 20500),
])
def test_each_fault_is_a_twilio_rest_exception(twilio: Client, sandbox_url: str, fault: str,
                                               status: int, code: int) -> None:
    phone = "+84903456789"
    httpx.post(f"{sandbox_url}/dev/sms-faults", json={"phone": phone, "fault": fault})
    try:
        with pytest.raises(TwilioRestException) as raised:
            twilio.messages.create(to=phone, from_="DVCQG", body="x")
        assert raised.value.status == status
        assert raised.value.code == code
        assert raised.value.msg
    finally:
        httpx.post(f"{sandbox_url}/dev/sms-faults", json={"phone": phone, "fault": "none"})
