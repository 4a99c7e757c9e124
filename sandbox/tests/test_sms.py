"""The Twilio-compatible Messages API over HTTP, the inbox and the per-number faults."""

from __future__ import annotations

import re

import httpx
import pytest

from sandbox.routes.twilio import num_segments
from sandbox.world import World
from shared.clock import FrozenClock

SID = "ACdvciddev0000000000000000000000"
AUTH = (SID, "dev-insecure-twilio-token")
URL = f"/twilio/2010-04-01/Accounts/{SID}/Messages.json"
OTP_TEXT = ("Ma OTP dang ky/dang nhap Cong DVCQG cua ban la 123456, hieu luc 5 phut. "
            "Khong chia se ma nay.")


async def _send(client: httpx.AsyncClient, to: str, body: str = OTP_TEXT) -> httpx.Response:
    return await client.post(URL, data={"To": to, "From": "DVCQG", "Body": body}, auth=AUTH)


async def test_a_message_is_accepted_like_twilio(client: httpx.AsyncClient) -> None:
    response = await _send(client, "+84912345678")
    assert response.status_code == 201, response.text
    message = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["account_sid"] == SID
    assert message["to"] == "+84912345678" and message["from"] == "DVCQG"
    assert message["body"] == OTP_TEXT
    assert message["status"] == "queued" and message["direction"] == "outbound-api"
    assert message["date_created"] == "Sun, 01 Mar 2026 08:30:00 +0000"
    assert message["num_segments"] == "1"
    assert message["price"] is None and message["error_code"] is None
    assert message["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{message['sid']}.json"


async def test_the_inbox_lists_messages_newest_first_for_any_phone_form(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    await _send(client, "0912345678", "first")
    clock.advance(seconds=5)
    await _send(client, "+84912345678", "second")
    await _send(client, "+84983456789", "someone else")
    for form in ("0912345678", "+84912345678", "84912345678"):
        response = await client.get("/dev/sms", params={"phone": form})
        assert response.status_code == 200
        inbox = response.json()
        assert [m["body"] for m in inbox] == ["second", "first"]
        assert inbox[0]["to"] == "+84912345678"
        assert inbox[0]["sent_at"] == "2026-03-01T08:30:05Z"
    everything = (await client.get("/dev/sms")).json()
    assert len(everything) == 3


async def test_the_inbox_of_an_unknown_phone_is_empty_and_a_bad_phone_is_a_problem(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/dev/sms", params={"phone": "+14155550123"})).json() == []
    response = await client.get("/dev/sms", params={"phone": "abc"})
    assert response.status_code == 422 and response.json()["errors"][0]["name"] == "phone"


async def test_deleting_the_inbox_empties_it(client: httpx.AsyncClient) -> None:
    await _send(client, "+84912345678")
    assert (await client.delete("/dev/sms")).status_code == 204
    assert (await client.get("/dev/sms")).json() == []


@pytest.mark.parametrize("auth", [None, (SID, "wrong"), ("ACother", "dev-insecure-twilio-token")])
async def test_wrong_credentials_are_twilio_20003(client: httpx.AsyncClient,
                                                  auth: tuple[str, str] | None) -> None:
    form = {"To": "+84912345678", "From": "DVCQG", "Body": "x"}
    if auth is None:
        response = await client.post(URL, data=form)
    else:
        response = await client.post(URL, data=form, auth=auth)
    assert response.status_code == 401
    assert response.json() == {"code": 20003, "message": "Authenticate",
                               "more_info": "https://www.twilio.com/docs/errors/20003",
                               "status": 401}


async def test_an_other_account_in_the_path_is_refused(client: httpx.AsyncClient) -> None:
    url = "/twilio/2010-04-01/Accounts/ACother/Messages.json"
    response = await client.post(url, data={"To": "+84912345678", "From": "DVCQG", "Body": "x"},
                                 auth=AUTH)
    assert response.status_code == 401


@pytest.mark.parametrize(("form", "code"), [
    ({"From": "DVCQG", "Body": "x"}, 21604),
    ({"To": "+84912345678", "Body": "x"}, 21603),
    ({"To": "+84912345678", "From": "DVCQG"}, 21602),
    ({"To": "12", "From": "DVCQG", "Body": "x"}, 21211),
    ({"To": "+84912345678", "From": "DVCQG", "Body": "x" * 1601}, 21617),
])
async def test_bad_messages_get_twilio_errors(client: httpx.AsyncClient, form: dict[str, str],
                                              code: int, world: World) -> None:
    response = await client.post(URL, data=form, auth=AUTH)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert world.messages == []


@pytest.mark.parametrize(("fault", "status", "code"), [
    ("invalid_number", 400, 21211), ("unreachable", 400, 21614),
    ("rate_limit", 429, 20429), ("server_error", 500, 20500),
])
async def test_faults_answer_per_number_until_cleared(client: httpx.AsyncClient, fault: str,
                                                      status: int, code: int) -> None:
    response = await client.post("/dev/sms-faults", json={"phone": "0912345678", "fault": fault})
    assert response.status_code == 200
    assert response.json() == {"phone": "+84912345678", "fault": fault}
    refused = await _send(client, "+84912345678")
    assert refused.status_code == status
    error = refused.json()
    assert error["code"] == code and error["status"] == status
    assert error["message"] and error["more_info"].endswith(str(code))
    assert (await _send(client, "+84983456789")).status_code == 201  # other numbers unaffected
    assert (await client.get("/dev/sms", params={"phone": "0912345678"})).json() == []
    await client.post("/dev/sms-faults", json={"phone": "+84912345678", "fault": "none"})
    assert (await _send(client, "+84912345678")).status_code == 201


async def test_clearing_every_fault(client: httpx.AsyncClient) -> None:
    await client.post("/dev/sms-faults", json={"phone": "0912345678", "fault": "rate_limit"})
    assert (await client.delete("/dev/sms-faults")).status_code == 204
    assert (await _send(client, "+84912345678")).status_code == 201


async def test_an_unknown_fault_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/dev/sms-faults", json={"phone": "0912345678", "fault": "x"})
    assert response.status_code == 422 and response.json()["errors"][0]["name"] == "fault"


def test_segments_follow_gsm7_and_ucs2() -> None:
    assert num_segments("a" * 160) == 1
    assert num_segments("a" * 161) == 2
    assert num_segments("Mã OTP") == 1  # ã is not GSM-7: UCS-2
    assert num_segments("ã" * 71) == 2
