"""Attack: asking the registration form whether an ID number has an account.

Before the fix ``account_exists`` answered before the outside record was matched: anyone who
knew (or guessed) a CCCD number learnt whether its holder had an account by starting a mobile
registration with any name and phone. Duplicates are now answered only after the carrier's
(or the insurer's) record backs the person and the phone; a stranger meets the same refusal
whether or not the account exists.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from tests.journeys import API, Citizen, add_subscriber, new_citizen, register

pytestmark = pytest.mark.e2e


def _probe(victim: Citizen, stranger: Citizen) -> dict[str, Any]:
    """The victim's ID number; everything else the stranger's (the birth year the ID number
    encodes, so the form is valid)."""
    year = victim.birth_date[:4]
    return {"subject_type": "citizen", "method": "mobile", "id_number": victim.id_number,
            "full_name": "Lê Văn Cường", "birth_date": f"{year}-01-02", "sex": victim.sex,
            "phone": stranger.phone}


def test_a_mobile_registration_does_not_tell_a_stranger_the_account_exists(
        api: httpx.Client) -> None:
    victim, nobody = new_citizen(), new_citizen()
    register(api, victim)
    stranger = new_citizen()
    add_subscriber(api, stranger)  # the stranger's own, real subscription

    answers = []
    for asker in (stranger, nobody):  # a subscribed phone, then one no carrier knows
        for person in (victim, new_citizen()):  # an ID number with an account, one without
            response = api.post(f"{API}/registrations", json=_probe(person, asker))
            answers.append((response.status_code, response.json()["code"]))
    assert answers == [(400, "subscriber_mismatch")] * 4, answers

    # The holder, proven by the carrier, still hears that the account exists.
    response = api.post(f"{API}/registrations", json=victim.registration)
    assert response.status_code == 409 and response.json()["code"] == "account_exists"


def test_a_bhxh_registration_does_not_tell_a_card_holder_the_account_exists(
        api: httpx.Client) -> None:
    victim, stranger = new_citizen(sex="female", year=1992), new_citizen()
    register(api, victim)
    code = f"03{random.randrange(10**8):08d}"
    record = {"bhxh_code": code, "id_number": victim.id_number, "full_name": victim.full_name,
              "birth_date": victim.birth_date, "sex": victim.sex, "phone": victim.phone}
    assert api.post(f"{API}/dev/bhxh-records", json=record).status_code == 201
    add_subscriber(api, stranger)

    form = {"subject_type": "citizen", "method": "bhxh", "bhxh_code": code,
            "id_number": victim.id_number, "full_name": victim.full_name,
            "birth_date": victim.birth_date, "phone": stranger.phone}
    response = api.post(f"{API}/registrations", json=form)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "bhxh_phone_mismatch"

    # An unknown code with the victim's ID number: not found, not account_exists.
    response = api.post(f"{API}/registrations", json=form | {"bhxh_code": "0400000001"})
    assert response.status_code == 400 and response.json()["code"] == "bhxh_not_found"

    response = api.post(f"{API}/registrations", json=form | {"phone": victim.phone})
    assert response.status_code == 409 and response.json()["code"] == "account_exists"
