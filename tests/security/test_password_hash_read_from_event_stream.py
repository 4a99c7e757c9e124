"""Attack: reading a citizen's password hash (and more than the consumers need) from the bus.

Whoever can read the event stream (any service, an operator's tool, a leaked backup of the
JetStream store, the dead-letter stream kept for weeks) used to find in every AccountCreated
the argon2 hash of the new password, ready for an offline guessing attack. Credentials now go
to their owner (profile) by request/reply: registration hands the password to profile
(``stage_credential``), profile hashes and keeps it, and the event carries only a reference.
The test registers through the public API, then reads the stream as such a reader would.
"""

from __future__ import annotations

import httpx
import pytest

from dvcid.devstack import DevStack
from tests.journeys import login, new_citizen, register
from tests.security.bus_reader import read_events

pytestmark = pytest.mark.e2e


def _account_created_of(stack: DevStack, account_id: str) -> dict:
    for stored in read_events(stack):
        event = stored.json()
        if (isinstance(event, dict) and event.get("type") == "AccountCreated"
                and event["payload"].get("account_id") == account_id):
            return event
    raise AssertionError(f"no AccountCreated for {account_id} in the stream")


def test_password_hash_read_from_event_stream(stack: DevStack, api: httpx.Client) -> None:
    citizen = new_citizen()
    completed = register(api, citizen)
    # The account works with the password just chosen ...
    assert login(api, citizen)["status"] == "completed"
    # ... yet the stream holds no trace of it: no hash, no field named after a credential.
    event = _account_created_of(stack, completed["account_id"])
    raw = str(event)
    assert "$argon2" not in raw, "AccountCreated carries an argon2 hash"
    payload = event["payload"]
    assert not [name for name in payload if "password" in name or "hash" in name], payload
