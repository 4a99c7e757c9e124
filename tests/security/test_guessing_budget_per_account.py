"""Attack: one account, several login names (the CCCD and the post office's `BD…` username),
each with its own failure budget, so a guesser gets twice the tries before a captcha and a
lock. Failures are counted per account as well as per name."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from dvcid.devstack import DevStack
from tests.journeys import API, Citizen, new_citizen, next_otp
from tests.test_login_guards_e2e import new_captcha
from tests.test_post_office_e2e import (
    Staff,
    admin,
    bearer,
    counter_request,
    first_login,
    random_id_number,
    random_phone,
)


def guess(api: httpx.Client, username: str, captcha: dict[str, str] | None = None
          ) -> httpx.Response:
    body: dict[str, Any] = {"method": "password", "username": username,
                            "password": f"Guess#{random.randrange(10**6)}xY"}
    if captcha:
        body["captcha"] = captcha
    # A fresh address each time: the per-address limits play no part here.
    ip = {"X-Forwarded-For": f"10.{random.randrange(256)}.{random.randrange(256)}."
                             f"{random.randrange(1, 255)}"}
    return api.post(f"{API}/logins", json=body, headers=ip)


@pytest.fixture(scope="module")
def agent(stack: DevStack, api: httpx.Client) -> dict[str, Any]:
    phone = random_phone()
    created = admin(stack, "create-agent", "--id-number", random_id_number(),
                    "--full-name", "Đỗ Minh Châu", "--phone", phone,
                    "--office", "Bưu điện Đà Nẵng", "--office-code", "DN-003")
    return first_login(api, Staff(created["username"], created["initial_password"], phone,
                                  set()), created["username"], created["initial_password"])


def counter_account(api: httpx.Client, agent: dict[str, Any], citizen: Citizen) -> str:
    response = api.post(f"{API}/agent/registrations", headers=bearer(agent),
                        json=counter_request(citizen))
    assert response.status_code == 201, response.text
    response = api.post(f"{API}/agent/registrations/{response.json()['id']}/otp",
                        headers=bearer(agent), json={"code": next_otp(api, citizen)})
    assert response.status_code == 201, response.text
    return str(response.json()["username"])


def test_guessing_budget_per_account_is_not_doubled_by_a_second_name(
        api: httpx.Client, agent: dict[str, Any], mongo: MongoClient) -> None:
    citizen = new_citizen(year=1971)
    username = counter_account(api, agent, citizen)
    # The counter answered completed: profile has the account already (read-your-writes).
    assert mongo["dvcid_profile"]["accounts"].find_one({"username": username}) is not None
    names = [citizen.id_number, username]
    # Five wrong passwords in all, over both names...
    for n in range(5):
        response = guess(api, names[n % 2])
        assert response.json()["code"] == "invalid_credentials", response.text
    # ...and the account asks for a captcha, under either name.
    for name in names:
        response = guess(api, name)
        assert response.json()["code"] == "captcha_required", response.text
    # Five more (with captchas) lock the account, under both names.
    for n in range(4):
        response = guess(api, names[n % 2], new_captcha(api, {}))
        assert response.json()["code"] == "invalid_credentials", response.text
    response = guess(api, username, new_captcha(api, {}))
    assert response.json()["code"] == "account_locked", response.text
    response = guess(api, citizen.id_number, new_captcha(api, {}))
    assert response.json()["code"] == "account_locked", response.text
