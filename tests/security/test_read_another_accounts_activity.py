"""Attack: a logged-in citizen (or a stranger with no session) reads another account's
activity log. ``GET /me/activity`` answers with the caller's own log only."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.journeys import API, login, new_citizen, register

pytestmark = pytest.mark.e2e


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['session_token']}"}


def own_activity(api: httpx.Client, session: dict[str, Any]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        response = api.get(f"{API}/me/activity", headers=bearer(session))
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()
        if "login_succeeded" in {e["kind"] for e in entries} or time.monotonic() > deadline:
            return entries
        time.sleep(0.2)


def test_read_another_accounts_activity(api: httpx.Client) -> None:
    victim, attacker = new_citizen(), new_citizen()
    register(api, victim)
    register(api, attacker)
    victim_session = login(api, victim)
    attacker_session = login(api, attacker)
    victim_id = api.get(f"{API}/me", headers=bearer(victim_session)).json()["account_id"]
    victim_entries = own_activity(api, victim_session)
    assert victim_entries, "the victim sees their own log"

    # The attacker's own log, whatever they add to the request, holds only their entries.
    mine = own_activity(api, attacker_session)
    assert mine
    for params in ({}, {"account_id": victim_id}, {"before": victim_entries[0]["seq"] + 1}):
        response = api.get(f"{API}/me/activity", headers=bearer(attacker_session),
                           params=params)
        assert response.status_code == 200, response.text
        assert {e["at"] for e in response.json()} <= {e["at"] for e in mine}
        assert victim_id not in response.text

    # Without a session (a fresh client: the shared one keeps the login's cookie): nothing.
    with httpx.Client(base_url=api.base_url) as stranger:
        anonymous = stranger.get(f"{API}/me/activity")
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["code"] == "unauthenticated"
