"""Attack: someone with write access to the database rewrites (or cuts) an account's activity
log to hide what happened. The log is hash-chained under a key the database does not hold, so
``dvcid admin verify-audit`` names the account and the first entry that no longer fits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from dvcid.devstack import DevStack
from tests.journeys import API, login, new_citizen, register

pytestmark = pytest.mark.e2e

PROFILE_DB = "dvcid_profile"


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['session_token']}"}


def admin(stack: DevStack, *args: str) -> subprocess.CompletedProcess[str]:
    """``dvcid admin ...`` as an operator runs it, against the stack's NATS."""
    return subprocess.run([sys.executable, "-m", "dvcid.cli", "admin", *args],
                          env=os.environ | {"DVCID_NATS_URL": stack.nats_url,
                                            "DVCID_NATS_NKEY_SEED_FILE": stack.nats_seed("operator")},
                          capture_output=True, text=True, timeout=60, check=False)


def activity_until(api: httpx.Client, session: dict[str, Any], kinds: set[str],
                   timeout: float = 20.0) -> list[dict[str, Any]]:
    """GET /me/activity until every kind asked for is there (the log is fed by events)."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"{API}/me/activity", headers=bearer(session))
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()
        if kinds <= {e["kind"] for e in entries} or time.monotonic() > deadline:
            return entries
        time.sleep(0.2)


def test_rewritten_history_detected(api: httpx.Client, stack: DevStack,
                                    mongo: MongoClient[dict[str, Any]]) -> None:
    citizen = new_citizen()
    register(api, citizen)
    session = login(api, citizen)
    response = api.patch(f"{API}/me", headers=bearer(session),
                         json={"address": "12 Tràng Tiền, Hoàn Kiếm, Hà Nội"})
    assert response.status_code == 200, response.text
    account_id = api.get(f"{API}/me", headers=bearer(session)).json()["account_id"]

    entries = activity_until(api, session,
                             {"account_created", "login_succeeded", "profile_updated"})
    # Newest first, in the order things happened.
    kinds = [e["kind"] for e in reversed(entries)]
    assert kinds[:3] == ["account_created", "login_succeeded", "profile_updated"], kinds
    assert [e["seq"] for e in entries] == sorted((e["seq"] for e in entries), reverse=True)
    # The owner sees what happened, never a secret nor the identity.
    flat = json.dumps(entries, ensure_ascii=False)
    for secret in (citizen.id_number, citizen.phone, citizen.full_name, session["session_token"]):
        assert secret not in flat

    clean = admin(stack, "verify-audit", "--account-id", account_id)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "OK" in clean.stdout

    exported = admin(stack, "export-audit", "--account-id", account_id)
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [line["kind"] for line in lines][:3] == ["account_created", "login_succeeded",
                                                    "profile_updated"]
    assert all(line["hash"] and line["prev_hash"] for line in lines)

    # The attacker moves the login to another address, straight in the database.
    activity = mongo[PROFILE_DB]["account_activity"]
    rewritten = activity.update_one({"account_id": account_id, "kind": "login_succeeded"},
                                    {"$set": {"details.ip": "203.0.113.7"}})
    assert rewritten.modified_count == 1
    login_seq = next(e["seq"] for e in entries if e["kind"] == "login_succeeded")

    broken = admin(stack, "verify-audit", "--account-id", account_id)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert account_id in broken.stdout and f"seq {login_seq}" in broken.stdout
    # The whole-database check finds it too.
    everything = admin(stack, "verify-audit")
    assert everything.returncode == 1, everything.stdout + everything.stderr
    assert account_id in everything.stdout


def test_cut_history_detected(api: httpx.Client, stack: DevStack,
                              mongo: MongoClient[dict[str, Any]]) -> None:
    """Deleting the newest entries (the chain before them stays valid) is seen too."""
    citizen = new_citizen()
    register(api, citizen)
    session = login(api, citizen)
    account_id = api.get(f"{API}/me", headers=bearer(session)).json()["account_id"]
    entries = activity_until(api, session, {"account_created", "login_succeeded"})
    assert {"account_created", "login_succeeded"} <= {e["kind"] for e in entries}

    activity = mongo[PROFILE_DB]["account_activity"]
    assert activity.delete_one({"account_id": account_id, "seq": entries[0]["seq"]}
                               ).deleted_count == 1
    broken = admin(stack, "verify-audit", "--account-id", account_id)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert account_id in broken.stdout
