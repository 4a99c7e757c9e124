"""Every step can be retried (issue 12): a client whose answer was lost (a 503, a timeout, a
dropped connection) sends the same request again. Here the answer is "dropped" by simply
sending the request twice. Same ``Idempotency-Key`` and body: the same answer, replayed, and
nothing done twice (one SMS, one account, one session); the key with another body: 422;
without a key, a step already done answers the flow's current state."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from nats.js.errors import NotFoundError
from pymongo import MongoClient

from dvcid.devstack import DevStack
from shared.bus import connect_nats
from shared.events.subjects import IDEMPOTENCY_BUCKET
from tests.journeys import (
    API,
    STRONG_PASSWORD,
    Citizen,
    add_subscriber,
    flow_headers,
    new_citizen,
    next_otp,
    register,
    start_login,
    start_registration,
)

pytestmark = pytest.mark.e2e


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def sms_count(api: httpx.Client, citizen: Citizen, settle: float = 1.5) -> int:
    """SMS to the citizen's phone, once the bus had time to deliver a second one."""
    time.sleep(settle)
    response = api.get(f"{API}/dev/sms", params={"phone": citizen.phone})
    assert response.status_code == 200, response.text
    return len(response.json())


def accounts_of(mongo: MongoClient, citizen: Citizen) -> int:
    accounts = mongo["dvcid_profile"]["accounts"]
    return accounts.count_documents({"id_number": f"CCCD:{citizen.id_number}"})


def password_body(password: str = STRONG_PASSWORD) -> dict[str, str]:
    return {"password": password, "password_confirmation": password}


def test_a_retried_registration_start_is_one_flow_and_one_sms(api: httpx.Client) -> None:
    citizen = new_citizen()
    add_subscriber(api, citizen)
    headers = key()
    first = api.post(f"{API}/registrations", json=citizen.registration, headers=headers)
    again = api.post(f"{API}/registrations", json=citizen.registration, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    next_otp(api, citizen)
    assert sms_count(api, citizen) == 1


def test_a_key_reused_with_another_body_is_refused(api: httpx.Client) -> None:
    citizen = new_citizen()
    add_subscriber(api, citizen)
    headers = key()
    assert api.post(f"{API}/registrations", json=citizen.registration,
                    headers=headers).status_code == 201
    changed = citizen.registration | {"full_name": "Nguyễn Văn Bình"}
    response = api.post(f"{API}/registrations", json=changed, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "idempotency_key_reused"


def test_a_retried_otp_answers_the_flow_state(api: httpx.Client) -> None:
    citizen = new_citizen()
    add_subscriber(api, citizen)
    flow = start_registration(api, citizen)
    code = next_otp(api, citizen)
    url = f"{API}/registrations/{flow['id']}/otp"
    first = api.post(url, json={"code": code}, headers=flow_headers(flow))
    again = api.post(url, json={"code": code}, headers=flow_headers(flow))
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() == {"status": "awaiting_password"}


def test_a_retried_otp_with_a_key_is_replayed(api: httpx.Client) -> None:
    citizen = new_citizen()
    add_subscriber(api, citizen)
    flow = start_registration(api, citizen)
    code = next_otp(api, citizen)
    headers = flow_headers(flow) | key()
    url = f"{API}/registrations/{flow['id']}/otp"
    first = api.post(url, json={"code": code}, headers=headers)
    again = api.post(url, json={"code": code}, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()


def test_a_retried_password_answers_completed_with_the_same_account(
        api: httpx.Client, mongo: MongoClient) -> None:
    citizen = new_citizen()
    add_subscriber(api, citizen)
    flow = start_registration(api, citizen)
    api.post(f"{API}/registrations/{flow['id']}/otp", json={"code": next_otp(api, citizen)},
             headers=flow_headers(flow)).raise_for_status()
    url = f"{API}/registrations/{flow['id']}/password"
    first = api.post(url, json=password_body(), headers=flow_headers(flow))
    again = api.post(url, json=password_body(), headers=flow_headers(flow))
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert first.json()["status"] == "completed"
    assert start_login(api, citizen.id_number, STRONG_PASSWORD).status_code == 201
    assert accounts_of(mongo, citizen) == 1


def test_a_retried_password_with_a_key_is_one_account(api: httpx.Client,
                                                      mongo: MongoClient) -> None:
    citizen = new_citizen()
    add_subscriber(api, citizen)
    flow = start_registration(api, citizen)
    api.post(f"{API}/registrations/{flow['id']}/otp", json={"code": next_otp(api, citizen)},
             headers=flow_headers(flow)).raise_for_status()
    headers = flow_headers(flow) | key()
    url = f"{API}/registrations/{flow['id']}/password"
    first = api.post(url, json=password_body(), headers=headers)
    again = api.post(url, json=password_body(), headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    other = api.post(url, json=password_body("Hoa-Mai#2026vn"), headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert start_login(api, citizen.id_number, STRONG_PASSWORD).status_code == 201
    assert accounts_of(mongo, citizen) == 1


def login_otp(api: httpx.Client, citizen: Citizen, headers: dict[str, str]) -> list[Any]:
    response = start_login(api, citizen.id_number, STRONG_PASSWORD)
    assert response.status_code == 201, response.text
    flow = response.json()
    code = next_otp(api, citizen)
    url = f"{API}/logins/{flow['id']}/otp"
    return [api.post(url, json={"code": code}, headers=flow_headers(flow) | headers)
            for _ in range(2)]


def test_a_retried_login_otp_with_a_key_replays_the_one_session(api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    first, again = login_otp(api, citizen, key())
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    session = first.json()["session_token"]
    sessions = api.get(f"{API}/me/sessions", headers={"Authorization": f"Bearer {session}"})
    assert sessions.status_code == 200, sessions.text
    assert len(sessions.json()) == 1


def test_the_stored_answer_holds_no_token_in_clear(stack: DevStack, api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    first, _ = login_otp(api, citizen, key())
    token = first.json()["session_token"]
    stored = asyncio.run(idempotency_records(stack))
    assert stored, "the gateway kept no idempotency record"
    assert not any(token.encode() in value for value in stored)


async def idempotency_records(stack: DevStack) -> list[bytes]:
    """Every message the bucket's stream holds, as the operator (who may read JetStream)."""
    nc = await connect_nats(stack.nats_url, name="idempotency-reader-test",
                            seed_file=stack.nats_seed("operator"), identity="operator")
    try:
        js = nc.jetstream()
        info = await js.stream_info(f"KV_{IDEMPOTENCY_BUCKET}")
        values = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                values.append((await js.get_msg(f"KV_{IDEMPOTENCY_BUCKET}", seq)).data or b"")
            except NotFoundError:
                continue
        return values
    finally:
        await nc.close()
