"""Attack: reading another person's answer out of the gateway's Idempotency-Key records.

The gateway keeps the first answer of every keyed request, to replay it to a retry; some of
those answers hold secrets (a login's session token and cookie, a new flow's flow token). If
records were looked up by the key alone, anyone who learnt or guessed a victim's key (a shared
computer's history, a predictable client, a proxy log) would get the victim's session by
sending the same request with it. A record belongs to its caller: the flow token, the session,
or for flow creation the client's address, all folded into the record's name; another caller
with the same key and body runs its own request. And what is stored opens nothing alone.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.journeys import (
    API,
    STRONG_PASSWORD,
    add_subscriber,
    client_ip,
    flow_headers,
    new_citizen,
    next_otp,
    register,
    start_login,
)

pytestmark = pytest.mark.e2e


def attacker_client(api: httpx.Client) -> httpx.Client:
    """The attacker's own client: none of the cookies the suite's shared client collected."""
    return httpx.Client(base_url=api.base_url, timeout=30)


def test_another_flow_token_with_the_victims_key_gets_no_session(api: httpx.Client) -> None:
    victim = new_citizen()
    register(api, victim)
    response = start_login(api, victim.id_number, STRONG_PASSWORD)
    assert response.status_code == 201, response.text
    flow = response.json()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"code": next_otp(api, victim)}
    url = f"{API}/logins/{flow['id']}/otp"
    answer = api.post(url, json=body, headers=flow_headers(flow) | key)
    assert answer.status_code == 200, answer.text
    session = answer.json()["session_token"]

    # The attacker knows the flow id and the key, even the code, but not the flow token.
    with attacker_client(api) as attacker:
        for token in ("guessed-token", flow["flow_token"][:-1] + "x"):
            stolen = attacker.post(url, json=body, headers={"X-Flow-Token": token} | key)
            assert stolen.status_code == 404, stolen.text
            assert session not in stolen.text and "idempotent-replayed" not in stolen.headers


def test_another_address_with_the_victims_key_gets_no_flow_token(api: httpx.Client) -> None:
    # Flow creation has no credential yet: the record is the address's. Someone holding the
    # victim's documents sends the same body with the same key from elsewhere: another flow
    # (or a refusal), never the victim's flow token.
    victim = new_citizen()
    add_subscriber(api, victim)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post(f"{API}/registrations", json=victim.registration,
                     headers=client_ip("victim-home") | key)
    assert first.status_code == 201, first.text
    with attacker_client(api) as attacker:
        other = attacker.post(f"{API}/registrations", json=victim.registration,
                              headers=client_ip("attacker-cafe") | key)
    assert "idempotent-replayed" not in other.headers
    assert first.json()["flow_token"] not in other.text
