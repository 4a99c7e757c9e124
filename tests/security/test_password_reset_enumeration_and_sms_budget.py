"""Attacks on "forgot password" by a stranger who knows (or guesses) a username:
- enumeration: the answer told whether an account exists (404 for an unknown name);
- SMS budget: every request sent an SMS to the owner until the phone's hourly OTP budget was
  gone, so the owner could no longer log in. Reset SMS are throttled per account and per
  phone in profile, below the otp service's per-phone budget, whatever address asks."""

from __future__ import annotations

import re

import httpx

from tests.journeys import (
    API,
    STRONG_PASSWORD,
    client_ip,
    flow_headers,
    login,
    new_citizen,
    next_otp,
    register,
)


def ask_reset(api: httpx.Client, username: str, address: str) -> httpx.Response:
    return api.post(f"{API}/password-resets", json={"username": username},
                    headers=client_ip(address))


def test_password_reset_enumeration_gets_one_answer(api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    login(api, citizen)  # the account exists in profile
    unknown = new_citizen().id_number  # a well-formed ID number that has no account
    known = ask_reset(api, citizen.id_number, "enumeration-a")
    stranger = ask_reset(api, unknown, "enumeration-b")
    assert known.status_code == stranger.status_code == 201, stranger.text
    assert set(known.json()) == set(stranger.json())
    assert known.json()["status"] == stranger.json()["status"] == "otp_sent"
    masked = re.compile(r"^\+84\d{2}\*{4}\d{3}$")
    assert masked.match(known.json()["phone_masked"])
    assert masked.match(stranger.json()["phone_masked"])
    # Asking again for the unknown name shows the same (stable) masked number.
    assert ask_reset(api, unknown, "enumeration-c").json()["phone_masked"] == \
        stranger.json()["phone_masked"]
    # A code for the unknown name fails as a wrong code would.
    fake = stranger.json()
    response = api.post(f"{API}/password-resets/{fake['id']}/otp", headers=flow_headers(fake),
                        json={"code": "123456"})
    real = known.json()
    wrong = api.post(f"{API}/password-resets/{real['id']}/otp", headers=flow_headers(real),
                     json={"code": "123456" if next_otp(api, citizen) != "123456" else "654321"})
    assert wrong.json()["code"] == "otp_invalid", wrong.text
    assert (response.status_code, response.json()["code"], response.json()["detail"]) == \
        (wrong.status_code, wrong.json()["code"], wrong.json()["detail"]), response.text


def test_password_reset_sms_budget_is_capped_per_account(api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    login(api, citizen)  # one login SMS used
    answers = [ask_reset(api, citizen.id_number, f"sms-budget-{i}") for i in range(6)]
    codes = [r.status_code for r in answers]
    assert codes[:2] == [201, 201], [r.text for r in answers]
    # From the third request, from any address: throttled in profile, with Retry-After.
    for refused in answers[2:]:
        assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited"), \
            refused.text
        assert int(refused.headers["Retry-After"]) > 0
    # The owner's phone still has SMS budget: their own login gets its code.
    for _ in range(2):
        next_otp(api, citizen)
    session = login(api, citizen, STRONG_PASSWORD)
    assert session["status"] == "completed"
