"""Attack: a dishonest (or hijacked) post-office agent registers anyone to any phone.

Before: any agent session, however old, made a level-3 account for any identity with any
phone, at once and without limit; a disabled clerk could not be stopped. Now:
- the citizen's phone is proven at the counter: a code goes to that phone and is read back
  to the agent; without it no account exists;
- the agent's session must be recent (logged in or stepped up within 15 minutes), else
  403 reauthentication_required;
- each agent has a daily limit (429 rate_limited + Retry-After);
- ``dvcid admin disable-agent`` ends the agent's sessions and refuses their logins and counter
  calls (``enable-agent`` undoes it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from dvcid.devstack import DevStack
from tests.journeys import API, Citizen, new_citizen, next_otp, start_login
from tests.test_post_office_e2e import (
    NEW_PASSWORD,
    Staff,
    admin,
    bearer,
    counter_request,
    first_login,
    random_id_number,
    random_phone,
)

pytestmark = pytest.mark.e2e

DAILY_LIMIT_CEILING = 50


def new_agent(stack: DevStack, api: httpx.Client) -> tuple[Staff, dict[str, Any]]:
    phone = random_phone()
    created = admin(stack, "create-agent", "--id-number", random_id_number(),
                    "--full-name", "Lê Thị Thu", "--phone", phone,
                    "--office", "Bưu điện Cầu Giấy", "--office-code", "HN-CG")
    agent = Staff(created["username"], created["initial_password"], phone, set())
    return agent, first_login(api, agent, agent.username, agent.password)


def accounts_for(mongo: MongoClient, citizen: Citizen) -> int:
    return int(mongo["dvcid_registration"]["identities"].count_documents(
        {"id_number": {"$regex": f"{citizen.id_number}$"}}))


def start(api: httpx.Client, session: dict[str, Any], citizen: Citizen) -> httpx.Response:
    return api.post(f"{API}/agent/registrations", headers=bearer(session),
                    json=counter_request(citizen))


def test_no_account_without_the_code_sent_to_the_citizens_phone(
        api: httpx.Client, stack: DevStack, mongo: MongoClient) -> None:
    _, session = new_agent(stack, api)
    citizen = new_citizen()
    started = start(api, session, citizen)
    assert started.status_code == 201, started.text
    flow = started.json()
    # Nothing is created before the phone is proven.
    assert "account_id" not in flow and "username" not in flow, flow
    assert flow["status"] == "otp_sent"
    assert accounts_for(mongo, citizen) == 0
    wrong = api.post(f"{API}/agent/registrations/{flow['id']}/otp", headers=bearer(session),
                     json={"code": "000000"})
    assert wrong.json()["code"] == "otp_invalid", wrong.text
    assert accounts_for(mongo, citizen) == 0
    # Another agent cannot finish this agent's registration, even with the right code.
    _, other = new_agent(stack, api)
    code = next_otp(api, citizen)
    stolen = api.post(f"{API}/agent/registrations/{flow['id']}/otp", headers=bearer(other),
                      json={"code": code})
    assert stolen.status_code == 404, stolen.text
    assert accounts_for(mongo, citizen) == 0
    # The citizen reads the code back to the agent: now the account exists.
    done = api.post(f"{API}/agent/registrations/{flow['id']}/otp", headers=bearer(session),
                    json={"code": code})
    assert done.status_code == 201, done.text
    assert done.json()["account_id"] and done.json()["level"] == 3
    assert accounts_for(mongo, citizen) == 1


def test_a_stale_agent_session_is_refused(api: httpx.Client, stack: DevStack,
                                          mongo: MongoClient) -> None:
    _, session = new_agent(stack, api)
    account_id = api.get(f"{API}/me", headers=bearer(session)).json()["account_id"]
    # The agent logged in 20 minutes ago (and stepped up never since).
    mongo["dvcid_profile"]["sessions"].update_many(
        {"account_id": account_id},
        {"$set": {"created_at": datetime.now(UTC) - timedelta(minutes=20)}})
    citizen = new_citizen()
    response = start(api, session, citizen)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "reauthentication_required"
    assert accounts_for(mongo, citizen) == 0


def test_an_agent_has_a_daily_limit(api: httpx.Client, stack: DevStack) -> None:
    _, session = new_agent(stack, api)
    started = 0
    response = start(api, session, new_citizen())
    while response.status_code == 201 and started < DAILY_LIMIT_CEILING:
        started += 1
        response = start(api, session, new_citizen())
    assert response.status_code == 429, (started, response.text)
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0
    assert 0 < started <= DAILY_LIMIT_CEILING


def test_a_disabled_agent_is_refused(api: httpx.Client, stack: DevStack,
                                     mongo: MongoClient) -> None:
    agent, session = new_agent(stack, api)
    admin(stack, "disable-agent", "--username", agent.username)
    # Their sessions ended, their counter calls are refused...
    citizen = new_citizen()
    response = start(api, session, citizen)
    assert response.status_code == 401, response.text
    assert accounts_for(mongo, citizen) == 0
    # ...and they cannot log in again.
    login = start_login(api, agent.username, NEW_PASSWORD)
    assert login.status_code == 403, login.text
    assert login.json()["code"] == "account_disabled"
    # The operator can undo it.
    admin(stack, "enable-agent", "--username", agent.username)
    login = start_login(api, agent.username, NEW_PASSWORD)
    assert login.status_code == 201, login.text
    assert login.json()["status"] == "otp_sent"
