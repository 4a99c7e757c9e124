"""Killing a process at the worst moment loses no registration, account or event.

Failpoints (DVCID_FAILPOINTS) make a service SIGKILL itself at an exact place, which a test
cannot hit reliably from outside; the services are then restarted as a supervisor would.
"""

from __future__ import annotations

import time

import httpx
import pytest
from pymongo import MongoClient

from dvcid.devstack import DevStack
from tests.journeys import (
    API,
    STRONG_PASSWORD,
    add_subscriber,
    flow_headers,
    login,
    new_citizen,
    next_otp,
    start_registration,
)

pytestmark = pytest.mark.e2e


def _wait_until_dead(stack: DevStack, name: str, timeout: float = 20.0) -> None:
    proc = stack.processes[name].proc
    assert proc is not None
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        assert time.monotonic() < deadline, f"{name} did not reach its failpoint"
        time.sleep(0.05)


def _accounts_with(mongo: MongoClient, id_number: str) -> int:
    return sum(
        # Accounts keep the typed identity key (a 12-digit number is a CCCD).
        mongo["dvcid_profile"][name].count_documents({"id_number": f"CCCD:{id_number}"})
        for name in mongo["dvcid_profile"].list_collection_names()
        if name.startswith("account")
    )


def test_registration_killed_after_completing_but_before_publishing(
    stack: DevStack, api: httpx.Client, mongo: MongoClient
) -> None:
    citizen = new_citizen()
    add_subscriber(api, citizen)
    flow = start_registration(api, citizen)
    response = api.post(f"{API}/registrations/{flow['id']}/otp", json={"code": next_otp(api, citizen)},
                        headers=flow_headers(flow))
    assert response.status_code == 200
    # OtpVerified is handled; now the registration service dies right after committing the
    # completed registration and its AccountCreated event, before the relay publishes it.
    stack.restart("registration", {"DVCID_FAILPOINTS": "registration.after_complete_commit"})
    stack.wait_ready()
    response = api.post(f"{API}/registrations/{flow['id']}/password", headers=flow_headers(flow),
                        json={"password": STRONG_PASSWORD, "password_confirmation": STRONG_PASSWORD})
    assert response.status_code == 503, response.text
    _wait_until_dead(stack, "registration")

    stack.restart("registration")
    stack.wait_ready()
    # Retrying the last step (its answer was the 503) answers the completion once the
    # account (its event relayed after the restart) is usable, and creates nothing (issue 12:
    # every step can be retried; read-your-writes).
    again = api.post(f"{API}/registrations/{flow['id']}/password", headers=flow_headers(flow),
                     json={"password": STRONG_PASSWORD, "password_confirmation": STRONG_PASSWORD})
    assert again.status_code == 201, again.text
    status = api.get(f"{API}/registrations/{flow['id']}", headers=flow_headers(flow)).json()
    assert status["status"] == "completed" and status["level"] == 2
    assert again.json() == {"status": "completed", "account_id": status["account_id"],
                            "level": 2}
    session = login(api, citizen)  # at once: completed means usable
    assert session["status"] == "completed"
    assert _accounts_with(mongo, citizen.id_number) == 1


def test_profile_killed_while_consuming_account_created(
    stack: DevStack, api: httpx.Client, mongo: MongoClient
) -> None:
    stack.restart("profile", {"DVCID_FAILPOINTS": "profile.after_account_commit"})
    stack.wait_ready()
    citizen = new_citizen()
    add_subscriber(api, citizen)
    flow = start_registration(api, citizen)
    api.post(f"{API}/registrations/{flow['id']}/otp", json={"code": next_otp(api, citizen)},
             headers=flow_headers(flow))
    password = {"password": STRONG_PASSWORD, "password_confirmation": STRONG_PASSWORD}
    response = api.post(f"{API}/registrations/{flow['id']}/password", headers=flow_headers(flow),
                        json=password)
    # profile stores the account, then dies before acknowledging the event and before its
    # AccountActivated leaves: the flow is committed, the account not yet known usable
    # (202 creating_account, read-your-writes).
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "creating_account"
    _wait_until_dead(stack, "profile")

    stack.restart("profile")
    stack.wait_ready()
    # The retried step waits for the activation the restarted profile relays.
    again = api.post(f"{API}/registrations/{flow['id']}/password", headers=flow_headers(flow),
                     json=password)
    assert again.status_code == 201, again.text
    assert again.json()["account_id"] == response.json()["account_id"]
    session = login(api, citizen)  # JetStream redelivered; the redelivery changed nothing
    assert session["level"] == 2
    time.sleep(4)  # past the ack wait: any further redelivery would have happened by now
    assert _accounts_with(mongo, citizen.id_number) == 1
