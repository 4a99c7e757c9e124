"""Attack: probing one person's ID number (or one phone) through registration starts.

Each start asks the carrier's or the insurer's registry about the person and, when they
match, sends a code. Before the fix there was no limit: a stranger could try name after name,
phone after phone against one ID number (or ID number after ID number against one phone) as
fast as the registries answered. Now at most 5 starts per ID number and 10 per phone in an
hour reach the registries (the otp service limits codes per phone on its own); past that
``429 rate_limited`` with Retry-After, whatever the outcome of the earlier starts.
"""

from __future__ import annotations

import httpx
import pytest

from tests.journeys import API, add_subscriber, new_citizen, start_registration

pytestmark = pytest.mark.e2e

STARTS_PER_HOUR = 5  # per ID number
STARTS_PER_PHONE_PER_HOUR = 10
HOUR = 3600


def _assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= HOUR
    assert response.json()["detail"]


def test_starts_for_one_id_number_are_limited(api: httpx.Client) -> None:
    victim = new_citizen(year=1988)
    for _ in range(STARTS_PER_HOUR):
        guess = victim.registration | {"phone": new_citizen().phone}  # nobody's number
        response = api.post(f"{API}/registrations", json=guess)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "subscriber_mismatch"

    add_subscriber(api, victim)  # even the right phone: the ID number's budget is spent
    _assert_throttled(api.post(f"{API}/registrations", json=victim.registration))

    other = new_citizen(year=1988)  # another person is not held back
    add_subscriber(api, other)
    assert start_registration(api, other)["status"] == "otp_sent"


def test_starts_for_one_phone_are_limited(api: httpx.Client) -> None:
    phone = new_citizen().phone
    for _ in range(STARTS_PER_PHONE_PER_HOUR):
        response = api.post(f"{API}/registrations",
                            json=new_citizen().registration | {"phone": phone})
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "subscriber_mismatch"
    _assert_throttled(api.post(f"{API}/registrations",
                               json=new_citizen().registration | {"phone": phone}))


def test_bhxh_starts_count_for_the_id_number_too(api: httpx.Client) -> None:
    victim = new_citizen(sex="female", year=1975)
    form = {"subject_type": "citizen", "method": "bhxh", "bhxh_code": "0500000001",
            "id_number": victim.id_number, "full_name": victim.full_name,
            "birth_date": victim.birth_date}
    for _ in range(STARTS_PER_HOUR):
        response = api.post(f"{API}/registrations", json=form | {"phone": new_citizen().phone})
        assert response.status_code == 400 and response.json()["code"] == "bhxh_not_found"
    _assert_throttled(api.post(f"{API}/registrations", json=victim.registration))
