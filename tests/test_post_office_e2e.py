"""The post office counter end to end: the operator CLI makes an agent (and an agency), the
agent logs in, registers a citizen at the counter in two steps (a code goes to the citizen's
phone, the citizen reads it back to the agent); the citizen's initial password arrives by
SMS and the first login forces a new password, then the OTP."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dvcid.devstack import DevStack
from tests.journeys import (
    API,
    Citizen,
    client_ip,
    flow_headers,
    new_citizen,
    next_otp,
    start_login,
)

NEW_PASSWORD = "Buu-Dien#2026vn"


@dataclass
class Staff:
    username: str
    password: str
    phone: str
    seen_sms: set[str]


def admin(stack: DevStack, *args: str) -> dict[str, str]:
    """``dvcid admin ...`` as an operator runs it, against the stack's NATS."""
    done = subprocess.run([sys.executable, "-m", "dvcid.cli", "admin", *args],
                          env=os.environ | {"DVCID_NATS_URL": stack.nats_url,
                                            "DVCID_NATS_NKEY_SEED_FILE": stack.nats_seed("operator")},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return dict(line.split(": ", 1) for line in done.stdout.splitlines())


def random_phone() -> str:
    return f"098{random.randrange(10**7):07d}"


def random_id_number() -> str:
    return f"001{random.choice('01')}{random.randrange(60, 99)}{random.randrange(10**6):06d}"


def first_login(api: httpx.Client, who: Citizen | Staff, username: str,
                initial_password: str) -> dict[str, Any]:
    """Initial password → password_change_required → new password → OTP → session."""
    response = start_login(api, username, initial_password)
    assert response.status_code == 201, response.text
    flow = response.json()
    assert flow["status"] == "password_change_required", flow
    response = api.post(f"{API}/logins/{flow['id']}/password", headers=flow_headers(flow) |
                        client_ip(username), json={"new_password": NEW_PASSWORD,
                                                   "new_password_confirmation": NEW_PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "otp_sent"
    response = api.post(f"{API}/logins/{flow['id']}/otp", headers=flow_headers(flow),
                        json={"code": next_otp(api, who)})  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    api.cookies.clear()  # the tests authenticate with the bearer token, not the cookie
    return session


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['session_token']}"}


def initial_password_sms(api: httpx.Client, citizen: Citizen, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in api.get(f"{API}/dev/sms", params={"phone": citizen.phone}).json():
            found = re.search(r"mat khau: (\S+)\.", message["body"])
            if found:
                # Read: the OTP helper must not take this message for a code.
                citizen.seen_sms.add(f"{message['sent_at']}|{message['body']}")
                return found.group(1)
        time.sleep(0.1)
    raise AssertionError("no initial password SMS")


@pytest.fixture(scope="module")
def agent_session(stack: DevStack, api: httpx.Client) -> dict[str, Any]:
    phone = random_phone()
    created = admin(stack, "create-agent", "--id-number", random_id_number(),
                    "--full-name", "Lê Thị Thu", "--phone", phone,
                    "--office", "Bưu điện Hà Nội", "--office-code", "HN-001")
    assert re.fullmatch(r"NV\d{8}", created["username"])
    agent = Staff(created["username"], created["initial_password"], phone, set())
    session = first_login(api, agent, agent.username, agent.password)
    me = api.get(f"{API}/me", headers=bearer(session)).json()
    assert me["roles"] == ["agent"]
    assert me["organisation"]["name"] == "Bưu điện Hà Nội"
    return session


def counter_request(citizen: Citizen, **changes: Any) -> dict[str, Any]:
    return {"id_number": citizen.id_number, "full_name": citizen.full_name,
            "birth_date": citizen.birth_date, "sex": citizen.sex, "phone": citizen.phone,
            "id_document_checked": True} | changes


def register_at_counter(api: httpx.Client, session: dict[str, Any], citizen: Citizen,
                        **changes: Any) -> httpx.Response:
    """Start, then the code the citizen reads back from their phone: the account's answer
    (or the start's refusal)."""
    started = api.post(f"{API}/agent/registrations", headers=bearer(session),
                       json=counter_request(citizen, **changes))
    if started.status_code != 201:
        return started
    flow = started.json()
    assert flow["status"] == "otp_sent" and "account_id" not in flow, flow
    return api.post(f"{API}/agent/registrations/{flow['id']}/otp", headers=bearer(session),
                    json={"code": next_otp(api, citizen)})


def test_a_citizen_registered_at_the_counter_logs_in_after_changing_the_password(
        api: httpx.Client, agent_session: dict[str, Any], mongo: Any, stack: DevStack) -> None:
    citizen = new_citizen(sex="female", year=1985)
    response = register_at_counter(api, agent_session, citizen, email="binh@example.vn")
    assert response.status_code == 201, response.text
    created = response.json()
    assert re.fullmatch(r"BD\d{10}", created["username"]) and created["account_id"]

    password = initial_password_sms(api, citizen)
    session = first_login(api, citizen, created["username"], password)
    me = api.get(f"{API}/me", headers=bearer(session)).json()
    assert me["account_id"] == created["account_id"] and me["level"] == 3
    assert me["identity"]["id_number"] == citizen.id_number
    # Password + OTP proves level 2 for the session (FLOWS.md), on a level-3 account.
    assert session["level"] == 2

    # From now on the new password is the password: no second change.
    again = start_login(api, created["username"], NEW_PASSWORD)
    assert again.status_code == 201 and again.json()["status"] == "otp_sent"
    # The counter record names the office; the initial password is in no stored document
    # (state, outbox events, processed marks) of any service.
    databases = [mongo[name] for name in mongo.list_database_names()
                 if name not in ("admin", "config", "local")]
    record = next(db["counter_registrations"].find_one({"username": created["username"]})
                  for db in databases if "counter_registrations" in db.list_collection_names())
    assert record["office"] == {"name": "Bưu điện Hà Nội", "code": "HN-001"}
    for db in databases:
        for name in db.list_collection_names():
            assert all(password not in repr(doc) for doc in db[name].find()), name
    # Nor in any service's log (the sandbox's SMS inbox is the phone, not a log).
    for log_file in stack.logs.glob("*.log"):
        if log_file.name != "sandbox.log":
            assert password not in log_file.read_text(errors="replace"), log_file.name


def test_the_same_person_twice_is_account_exists(api: httpx.Client,
                                                  agent_session: dict[str, Any]) -> None:
    citizen = new_citizen()
    first = register_at_counter(api, agent_session, citizen)
    assert first.status_code == 201, first.text
    again = api.post(f"{API}/agent/registrations", headers=bearer(agent_session),
                     json=counter_request(citizen))
    assert again.status_code == 409 and again.json()["code"] == "account_exists"


@pytest.mark.parametrize("checked", [False, None])
def test_the_document_must_have_been_checked(api: httpx.Client, agent_session: dict[str, Any],
                                             checked: bool | None) -> None:
    request = counter_request(new_citizen())
    if checked is None:
        del request["id_document_checked"]
    else:
        request["id_document_checked"] = checked
    response = api.post(f"{API}/agent/registrations", headers=bearer(agent_session),
                        json=request)
    assert response.status_code == 422, response.text
    assert "id_document_checked" in [e["name"] for e in response.json()["errors"]]


def test_a_citizen_session_is_forbidden(api: httpx.Client, stack: DevStack) -> None:
    from tests.journeys import login, register

    citizen = new_citizen()
    register(api, citizen)
    session = login(api, citizen)
    api.cookies.clear()
    response = api.post(f"{API}/agent/registrations", headers=bearer(session),
                        json=counter_request(new_citizen()))
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_an_agencys_first_user_logs_in_with_password_and_otp(api: httpx.Client,
                                                            stack: DevStack) -> None:
    code = f"000.00.{random.randrange(100):02d}.H{random.randrange(10**4):04d}"
    phone = random_phone()
    created = admin(stack, "create-agency", "--code", code, "--name", "Sở Tư pháp Hà Nội",
                    "--email", "stp@hanoi.gov.vn", "--phone", phone,
                    "--user-id-number", random_id_number(), "--user-full-name", "Phạm Văn Minh")
    assert created["username"] == code
    officer = Staff(code, created["initial_password"], phone, set())
    session = first_login(api, officer, code, officer.password)
    me = api.get(f"{API}/me", headers=bearer(session)).json()
    assert me["subject_type"] == "agency"
    assert me["identity"]["id_number"] == code
    assert me["identity"]["full_name"] == "Sở Tư pháp Hà Nội"
    assert me["organisation"]["code"] == code
    # An agency is no post office agent.
    response = api.post(f"{API}/agent/registrations", headers=bearer(session),
                        json=counter_request(new_citizen()))
    assert response.status_code == 403
