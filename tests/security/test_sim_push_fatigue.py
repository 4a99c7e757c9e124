"""Attack: SIM push fatigue. Anyone who knows a phone number can make its SIM ask for the
PIN again and again (POST /logins {method: sim}) until the tired owner approves one, and the
attacker's page then holds the owner's session. pki, which owns the SIM sessions, lets one
prompt wait on a phone at a time and only a few per phone in 15 minutes: past that the
caller gets 429 rate_limited with Retry-After and the SIM shows nothing."""

from __future__ import annotations

import random
import time
from typing import Any

import httpx
import pytest

from tests.journeys import API, client_ip

pytestmark = pytest.mark.e2e

PROMPTS_PER_15_MINUTES = 5


def new_sim(api: httpx.Client) -> str:
    phone = f"+8491{random.randrange(10**7):07d}"
    response = api.post(f"{API}/dev/sim-subscribers", json={
        "phone": phone, "subject_type": "citizen", "full_name": "Trần Thị Bình",
        "id_number": f"001090{random.randrange(10**6):06d}", "pin": "123456"})
    assert response.status_code == 201, response.text
    return phone


def ask(api: httpx.Client, phone: str, attempt: int, path: str = "logins") -> httpx.Response:
    body: dict[str, Any] = {"method": "sim", "phone": phone}
    if path == "registrations":
        body["subject_type"] = "citizen"
    # A different address each time: the attacker is not slowed by per-address limits.
    return api.post(f"{API}/{path}", json=body, headers=client_ip(f"{phone}{attempt}"))


def finished(api: httpx.Client, path: str, flow: dict[str, Any]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        view = api.get(f"{API}/{path}/{flow['id']}",
                       headers={"X-Flow-Token": flow["flow_token"]}).json()
        if view["status"] != "awaiting_signature":
            return
        time.sleep(0.1)
    raise AssertionError("the refused prompt never finished the flow")


def test_a_second_prompt_while_one_waits_on_the_phone_is_refused(api: httpx.Client) -> None:
    phone = new_sim(api)
    first = ask(api, phone, 0)
    assert first.status_code == 201, first.text
    second = ask(api, phone, 1)
    assert second.status_code == 429, second.text
    assert second.json()["code"] == "rate_limited"
    assert int(second.headers["Retry-After"]) > 0
    # The phone still shows the first request only.
    shown = api.get(f"{API}/dev/sim/{phone}").json()
    assert shown["verification_code"] == first.json()["verification_code"]


def test_the_nth_prompt_to_one_phone_in_15_minutes_is_refused(api: httpx.Client) -> None:
    phone = new_sim(api)
    # Registration and login prompts count together: it is the same phone that buzzes.
    for attempt in range(PROMPTS_PER_15_MINUTES):
        path = "registrations" if attempt % 2 else "logins"
        response = ask(api, phone, attempt, path)
        assert response.status_code == 201, (attempt, response.text)
        # The owner says no each time (the attacker hopes for a tired yes).
        assert api.post(f"{API}/dev/sim/{phone}/reject").status_code == 200
        finished(api, path, response.json())
    refused = ask(api, phone, PROMPTS_PER_15_MINUTES)
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
    # No prompt reached the SIM.
    assert api.get(f"{API}/dev/sim/{phone}").status_code == 404
