"""Attack (or plain bad luck) on a shared address: carrier-grade NAT and a post office put many
people behind one IP. Five strangers' failed logins there put a captcha in front of everyone
behind it. Per-address limits only cap volume; a person's own login is never captcha'd
because of strangers' failures."""

from __future__ import annotations

import httpx

from tests.journeys import API, STRONG_PASSWORD, new_citizen, register

SHARED = {"X-Forwarded-For": "10.254.77.1"}  # a post office's one public address


def test_strangers_failures_on_a_shared_address_do_not_captcha_a_person(
        api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    # Eight strangers behind the same address each mistype (or guess) once.
    for _ in range(8):
        response = api.post(f"{API}/logins", headers=SHARED, json={
            "method": "password", "username": new_citizen().id_number,
            "password": "Wrong#Pass1"})
        assert response.json()["code"] == "invalid_credentials", response.text
    # The citizen's own login from the same address goes straight through.
    for _ in range(50):  # the account may still be on its way to profile
        response = api.post(f"{API}/logins", headers=SHARED, json={
            "method": "password", "username": citizen.id_number, "password": STRONG_PASSWORD})
        if response.status_code != 401 or response.json()["code"] != "invalid_credentials":
            break
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "otp_sent"
