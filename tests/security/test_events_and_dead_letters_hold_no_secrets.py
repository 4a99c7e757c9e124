"""Attack: mining the bus for credentials and personal data.

The event stream is kept for days and the dead-letter stream for weeks; every service, an
operator's tool and any backup of the JetStream store can read them. This test runs LAST in the
session (tests/conftest.py), after every journey of the e2e suite, and reads EVERY message of
both streams: none may hold credential material (a password or its hash, an OTP, a PIN, a
token, a secret: by value and by field name), a dead letter's headers say an error code and
nothing else, and a personal field rides only the events whose consumers need it
(``shared.events.personal_data.PERSONAL_FIELDS``, the table of docs/messaging.md). The made-up
people of the journeys (tests/journeys.py ``remember``) may appear only in those fields.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from dvcid.devstack import DevStack
from shared.bus import CONSUMER_HEADER, ERROR_HEADER, SUBJECT_HEADER
from shared.events.personal_data import (
    PERSONAL_FIELDS,
    credential_findings,
    undocumented_personal_fields,
)
from tests.journeys import PERSONAL_VALUES, STRONG_PASSWORD
from tests.security.bus_reader import Stored, read_dead_letters, read_events

pytestmark = pytest.mark.e2e

_ARGON2 = b"$argon2"
_CODE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_DLQ_HEADERS = {ERROR_HEADER, CONSUMER_HEADER, SUBJECT_HEADER, "Nats-Msg-Id"}


def _without_documented(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload minus the personal fields its consumers need."""
    rest = copy.deepcopy(payload)
    for entry in PERSONAL_FIELDS:
        if entry.event != event_type:
            continue
        *parents, leaf = entry.field.split(".")
        node: Any = rest
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return rest


def _forms(value: str) -> set[str]:
    if re.fullmatch(r"0\d{9}", value):
        return {value[1:]}  # the subscriber digits, in national and E.164 forms alike
    return {value.lower()}


def _problems(stored: Stored) -> list[str]:
    where = f"{stored.stream}#{stored.seq} {stored.subject}"
    problems = []
    if _ARGON2 in stored.data or any("$argon2" in v for v in stored.headers.values()):
        problems.append(f"{where}: an argon2 hash")
    if STRONG_PASSWORD.encode() in stored.data:
        problems.append(f"{where}: a journey's password")
    event = stored.json()
    if not isinstance(event, dict) or not isinstance(event.get("payload"), dict):
        return [*problems, f"{where}: not an event envelope"]
    event_type, payload = str(event.get("type")), event["payload"]
    problems += [f"{where}: credential field {path}"
                 for path in credential_findings(event_type, payload)]
    problems += [f"{where}: personal field {path} with no documented consumer"
                 for path in undocumented_personal_fields(event_type, payload)]
    # Anywhere else in the message (another field, the envelope): no made-up person at all.
    rest = json.dumps({**event, "payload": _without_documented(event_type, payload)},
                      ensure_ascii=False).lower()
    leaked = sorted(value for value in PERSONAL_VALUES
                    if any(form in rest for form in _forms(value)))
    if leaked:
        problems.append(f"{where}: {len(leaked)} personal value(s) outside documented fields")
    return problems


def test_events_and_dead_letters_hold_no_secrets(stack: DevStack) -> None:
    events = read_events(stack)
    dead_letters = read_dead_letters(stack)
    # The session ran journeys: an empty stream would make this test pass for nothing.
    assert any(stored.json() and stored.json().get("type") == "AccountCreated"
               for stored in events), "no AccountCreated in the stream"
    problems = [problem for stored in events + dead_letters for problem in _problems(stored)]
    for letter in dead_letters:
        extra = set(letter.headers) - _DLQ_HEADERS
        error = letter.headers.get(ERROR_HEADER, "")
        if extra or not _CODE.fullmatch(error):
            problems.append(f"DLQ#{letter.seq}: headers must be codes only: "
                            f"{sorted(letter.headers)}")
    assert not problems, "\n".join(problems[:50])
