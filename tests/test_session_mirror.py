"""Issue 13: the session mirror. Two gateway processes over the same session stack: a session
logged in, logged out or ended through gateway A is refused by gateway B within the documented
bound (``REVOCATION_BOUND``, services/gateway/session_mirror.py), and a password reset ends every
session on both; a session B never saw is answered by B (a miss asks profile)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dvcid.devstack import DevStack
from dvcid.servers import free_port, wait_for_port
from tests.journeys import (
    API,
    client_ip,
    flow_headers,
    login,
    new_citizen,
    next_otp,
    register,
)

REVOCATION_BOUND = 1.0
NEW_PASSWORD = "Sen-Vang#2027vn"


@pytest.fixture(scope="module")
def gateway_b(stack: DevStack) -> Iterator[httpx.Client]:
    """A second gateway, started the way the stack starts the first (its own port, the
    gateway's NATS identity)."""
    port = free_port()
    env = stack.service_env() | {
        "DVCID_GATEWAY_PORT": str(port),
        "DVCID_NATS_NKEY_SEED_FILE": stack.nats_seed("gateway"),
        "DVCID_HEARTBEAT_FILE": str(stack.home / "run" / "gateway-b.alive"),
    }
    with open(stack.logs / "gateway-b.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.gateway"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, 60, proc)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 60
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "gateway B never ready"
                time.sleep(0.2)
            yield client
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['session_token']}"}


def _refused_within(client: httpx.Client, session: dict[str, Any], bound: float) -> None:
    """``client`` answers 401 to the session within ``bound`` seconds, with the very problem
    profile answers for a token it never issued."""
    started = time.monotonic()
    while True:
        response = client.get(f"{API}/me", headers=_bearer(session))
        elapsed = time.monotonic() - started
        if response.status_code == 401:
            unknown = client.get(f"{API}/me", headers=_bearer({"session_token": "x" * 43}))
            assert response.json() == unknown.json()
            assert response.json()["code"] == "unauthenticated"
            return
        assert response.status_code == 200, response.text
        assert elapsed < bound, f"still accepted after {elapsed:.2f} s"
        time.sleep(0.02)


def test_logout_on_one_gateway_is_refused_by_the_other(api: httpx.Client,
                                                       gateway_b: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    session = login(api, citizen)
    # Both gateways answer it (B from a miss asked of profile, then from its mirror).
    first = api.get(f"{API}/me", headers=_bearer(session))
    assert first.status_code == 200
    for _ in range(3):
        again = gateway_b.get(f"{API}/me", headers=_bearer(session))
        assert again.status_code == 200 and again.json() == first.json()
    assert api.post(f"{API}/logout", headers=_bearer(session)).status_code == 204
    # Refused at once by the gateway that logged out, within the bound by the other.
    refused = api.get(f"{API}/me", headers=_bearer(session))
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"
    _refused_within(gateway_b, session, REVOCATION_BOUND)


def test_an_ended_session_is_refused_by_both_gateways(api: httpx.Client,
                                                      gateway_b: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    first, second = login(api, citizen), login(api, citizen)
    assert gateway_b.get(f"{API}/me", headers=_bearer(first)).status_code == 200
    # Ending one's own session through A (a logout by another name).
    response = api.delete(f"{API}/me/sessions/{first['session_id']}", headers=_bearer(first))
    assert response.status_code == 204, response.text
    assert api.get(f"{API}/me", headers=_bearer(first)).status_code == 401
    _refused_within(gateway_b, first, REVOCATION_BOUND)
    assert gateway_b.get(f"{API}/me", headers=_bearer(second)).status_code == 200


def test_a_password_reset_ends_every_session_on_every_gateway(api: httpx.Client,
                                                              gateway_b: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    sessions = [login(api, citizen), login(api, citizen)]
    for session in sessions:
        assert api.get(f"{API}/me", headers=_bearer(session)).status_code == 200
        assert gateway_b.get(f"{API}/me", headers=_bearer(session)).status_code == 200
    response = api.post(f"{API}/password-resets", json={"username": citizen.id_number},
                        headers=client_ip(citizen.id_number))
    assert response.status_code == 201, response.text
    reset = response.json()
    url = f"{API}/password-resets/{reset['id']}"
    response = api.post(f"{url}/otp", headers=flow_headers(reset),
                        json={"code": next_otp(api, citizen)})
    assert response.status_code == 200, response.text
    response = api.post(f"{url}/password", headers=flow_headers(reset), json={
        "password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD})
    assert response.status_code == 200, response.text
    for session in sessions:
        assert api.get(f"{API}/me", headers=_bearer(session)).status_code == 401
        _refused_within(gateway_b, session, REVOCATION_BOUND)
    assert login(api, citizen, NEW_PASSWORD)["status"] == "completed"


def test_a_change_of_the_account_is_seen_by_both_gateways(api: httpx.Client,
                                                          gateway_b: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    session = login(api, citizen)
    before = gateway_b.get(f"{API}/me", headers=_bearer(session)).json()
    assert gateway_b.get(f"{API}/me", headers=_bearer(session)).json() == before
    response = api.patch(f"{API}/me", headers=_bearer(session),
                         json={"address": "12 Tràng Tiền, Hoàn Kiếm, Hà Nội"})
    assert response.status_code == 200, response.text
    assert api.get(f"{API}/me", headers=_bearer(session)).json()["contacts"]["address"] \
        == "12 Tràng Tiền, Hoàn Kiếm, Hà Nội"
    deadline = time.monotonic() + REVOCATION_BOUND
    while (gateway_b.get(f"{API}/me", headers=_bearer(session)).json()["contacts"]["address"]
           != "12 Tràng Tiền, Hoàn Kiếm, Hà Nội"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
