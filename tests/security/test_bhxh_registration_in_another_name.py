"""Attack: registration by BHXH code in another person's name.

The attacker holds the victim's printed insurance card (BHXH code, ID number, name, birth date)
and registers with their own phone. Before the fix this opened a level-2 account for the victim
with the attacker's phone, and the victim then met ``account_exists``. The phone must be the
person's: the phone of the insurance record, or one registered to the same ID number at the
carrier. Otherwise ``bhxh_phone_mismatch`` and nothing is stored, no code is sent.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from tests.journeys import API, Citizen, add_subscriber, new_citizen

pytestmark = pytest.mark.e2e


def _insured_record(api: httpx.Client, victim: Citizen, *, phone: str | None) -> str:
    code = f"02{random.randrange(10**8):08d}"
    body: dict[str, Any] = {"bhxh_code": code, "id_number": victim.id_number,
                            "full_name": victim.full_name, "birth_date": victim.birth_date,
                            "sex": victim.sex}
    if phone is not None:
        body["phone"] = phone
    response = api.post(f"{API}/dev/bhxh-records", json=body)
    assert response.status_code == 201, response.text
    return code


def _form(victim: Citizen, code: str, phone: str) -> dict[str, Any]:
    """What is printed on the victim's card, and a phone of the caller's choosing."""
    return {"subject_type": "citizen", "method": "bhxh", "bhxh_code": code,
            "id_number": victim.id_number, "full_name": victim.full_name,
            "birth_date": victim.birth_date, "phone": phone}


def _assert_refused_and_nothing_stored(api: httpx.Client, mongo: MongoClient,
                                       response: httpx.Response, victim: Citizen,
                                       attacker_phone: str) -> None:
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "bhxh_phone_mismatch", problem
    assert "số điện thoại" in problem["detail"].lower()
    # No flow for the victim's ID number, no code to the attacker's phone.
    flows = mongo["dvcid_registration"]["registrations"]
    assert flows.count_documents({"identity.id_number": victim.id_number}) == 0
    assert api.get(f"{API}/dev/sms", params={"phone": attacker_phone}).json() == []


def test_printed_card_and_any_phone_do_not_open_the_victims_account(
        api: httpx.Client, mongo: MongoClient) -> None:
    victim, attacker = new_citizen(sex="female", year=1985), new_citizen()
    code = _insured_record(api, victim, phone=victim.phone)
    add_subscriber(api, attacker)  # the attacker's own SIM, registered to the attacker

    response = api.post(f"{API}/registrations", json=_form(victim, code, attacker.phone))
    _assert_refused_and_nothing_stored(api, mongo, response, victim, attacker.phone)

    # The victim, with the phone the insurer holds, still registers.
    response = api.post(f"{API}/registrations", json=_form(victim, code, victim.phone))
    assert response.status_code == 201, response.text


def test_without_a_phone_on_record_the_phone_must_be_the_persons_at_the_carrier(
        api: httpx.Client, mongo: MongoClient) -> None:
    victim, attacker = new_citizen(year=1979), new_citizen()
    code = _insured_record(api, victim, phone=None)

    # A number nobody subscribes to, then the attacker's own subscription.
    response = api.post(f"{API}/registrations", json=_form(victim, code, attacker.phone))
    _assert_refused_and_nothing_stored(api, mongo, response, victim, attacker.phone)
    add_subscriber(api, attacker)
    response = api.post(f"{API}/registrations", json=_form(victim, code, attacker.phone))
    _assert_refused_and_nothing_stored(api, mongo, response, victim, attacker.phone)

    # The victim's own subscription (same ID number at the carrier) is accepted.
    add_subscriber(api, victim)
    response = api.post(f"{API}/registrations", json=_form(victim, code, victim.phone))
    assert response.status_code == 201, response.text
