"""The account activity log without I/O: the chain (domain) and its use cases on a fake
store: which events make entries, idempotent appends, bursts of failed logins, the owner's
pages and the operator's verification."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.profile.domain.activity import (
    ACTIVITY_EVENT_TYPES,
    GENESIS,
    NewEntry,
    burst_milestone,
    chain,
    entry_hash,
    first_break,
)
from services.profile.domain.errors import Unauthenticated
from services.profile.handlers.activity.log import ActivityContended, ActivityLog
from services.profile.tests.activity_fakes import FakeActivityStore
from shared.contracts import profile as P
from shared.contracts.base import ContractViolation
from shared.contracts.profile import SessionRef, SessionView
from shared.events import (
    AccountCreated,
    AuthMethodAdded,
    LoginFailed,
    LoginSucceeded,
    OtpSent,
    PasswordChanged,
    new_event,
)
from shared.events.schemas import Identity
from shared.rpc import serving

KEY = "test-audit-key"
AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ACCOUNT = "acc-1"
TOKENS = {"tok-1": "acc-1", "tok-2": "acc-2"}
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")


async def authenticate(request: SessionRef) -> SessionView:
    account = TOKENS.get(request.session_token)
    if account is None:
        raise Unauthenticated()
    return SessionView(account_id=account, session_id=f"session-{account}", level=2,
                       expires_at="2026-01-01T12:00:00+00:00")


class ServedActivityLog:
    """The log's use cases, its endpoints served as the service serves them."""

    def __init__(self, log: ActivityLog) -> None:
        self.on_event = log.on_event
        self.append = log.append
        self.me_activity = serving(P.ME_ACTIVITY, log.me_activity)
        self.admin_verify_audit = serving(P.ADMIN_VERIFY_AUDIT, log.admin_verify_audit)
        self.admin_export_audit = serving(P.ADMIN_EXPORT_AUDIT, log.admin_export_audit)


def activity_log(store: FakeActivityStore | None = None) -> ServedActivityLog:
    return ServedActivityLog(ActivityLog(store=store or FakeActivityStore(), key=KEY,
                                         authenticate=authenticate))


def new(n: int, account_id: str = ACCOUNT) -> NewEntry:
    return NewEntry(account_id=account_id, event_id=f"ev-{n}", kind="login_succeeded",
                    at=(AT + timedelta(minutes=n)).isoformat(), details={"ip": "10.0.0.1"})


def built_chain(length: int) -> list[Any]:
    entries, prev = [], GENESIS
    for n in range(1, length + 1):
        entry = chain(KEY, new(n), n, prev)
        entries.append(entry)
        prev = entry.hash
    return entries


def account_created(account_id: str = ACCOUNT, **extra: Any) -> Any:
    return new_event(AccountCreated.model_validate(dict(
        account_id=account_id, registration_id="reg-1", subject_type="citizen",
        method="mobile", level=2,
        identity=Identity(id_number="001090123456", full_name="Nguyễn Văn An").model_dump(),
        phone="+84912000111", password_hash="$argon2id$secret", created_at=AT.isoformat(),
        **extra)), correlation_id="reg-1", occurred_at=AT)


def failed(n: int, account_id: str | None = ACCOUNT, minutes: float = 0) -> Any:
    return new_event(LoginFailed(login_id=f"login-{n}", method="password",
                                 reason="invalid_credentials", account_id=account_id,
                                 ip="203.0.113.5", user_agent=CHROME_WINDOWS),
                     correlation_id=f"login-{n}", occurred_at=AT + timedelta(minutes=minutes))


# --- the chain (domain) ---------------------------------------------------------------------

def test_a_whole_chain_verifies() -> None:
    entries = built_chain(4)
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert first_break(KEY, ACCOUNT, entries, (4, entries[-1].hash)) is None


def test_a_rewritten_entry_is_the_first_break() -> None:
    entries = built_chain(4)
    entries[1] = dataclasses.replace(entries[1], details={"ip": "198.51.100.1"})
    found = first_break(KEY, ACCOUNT, entries, (4, entries[-1].hash))
    assert found is not None and (found.seq, found.reason) == (2, "hash_mismatch")


def test_a_rewrite_rechained_without_the_key_is_seen() -> None:
    """Recomputing every later hash needs the key: with another key the first one breaks."""
    entries, prev = [], GENESIS
    for n in range(1, 4):
        forged = NewEntry(ACCOUNT, f"ev-{n}", "login_succeeded", AT.isoformat(), {})
        entry = chain("the attacker's guess", forged, n, prev)
        entries.append(entry)
        prev = entry.hash
    found = first_break(KEY, ACCOUNT, entries, None)
    assert found is not None and found.seq == 1


def test_a_removed_middle_entry_and_a_cut_end_are_seen() -> None:
    entries = built_chain(5)
    found = first_break(KEY, ACCOUNT, entries[:2] + entries[3:], (5, entries[-1].hash))
    assert found is not None and (found.seq, found.reason) == (3, "seq_gap")
    found = first_break(KEY, ACCOUNT, entries[:3], (5, entries[-1].hash))
    assert found is not None and (found.seq, found.reason) == (4, "truncated")
    # A head one append behind (a crash between the entry and its head) is no break.
    assert first_break(KEY, ACCOUNT, entries, (4, entries[3].hash)) is None


def test_a_relinked_entry_is_seen() -> None:
    entries = built_chain(3)
    relinked = dataclasses.replace(entries[2], prev_hash=GENESIS)
    found = first_break(KEY, ACCOUNT, [*entries[:2], relinked], None)
    assert found is not None and (found.seq, found.reason) == (3, "prev_hash_mismatch")


def test_the_hash_covers_every_field_canonically() -> None:
    fields = {"account_id": "a", "seq": 1, "prev_hash": GENESIS, "event_id": "e",
              "kind": "k", "at": "t", "details": {"b": 1, "a": "Hà Nội"}}
    reordered = dict(reversed(list(fields.items())))
    assert entry_hash(KEY, fields) == entry_hash(KEY, reordered)
    for name in fields:
        assert entry_hash(KEY, fields | {name: "other"}) != entry_hash(KEY, fields)
    assert entry_hash("another key", fields) != entry_hash(KEY, fields)


def test_burst_milestones_are_few() -> None:
    written = [n for n in range(1, 1001) if burst_milestone(n)]
    assert written[:3] == [1, 5, 10] and len(written) <= 20


# --- appending from events --------------------------------------------------------------------

async def test_events_make_entries_without_personal_data() -> None:
    store = FakeActivityStore()
    log = activity_log(store)
    await log.on_event(account_created())
    await log.on_event(new_event(LoginSucceeded(
        account_id=ACCOUNT, login_id="l-1", method="password", level=2, ip="203.0.113.5",
        user_agent=CHROME_WINDOWS), correlation_id="l-1", occurred_at=AT))
    await log.on_event(new_event(PasswordChanged(account_id=ACCOUNT, reason="change"),
                                 correlation_id="s", occurred_at=AT))
    entries = store.of(ACCOUNT)
    assert [e.kind for e in entries] == ["account_created", "login_succeeded",
                                         "password_changed"]
    assert entries[0].details == {"method": "mobile", "level": 2, "subject_type": "citizen"}
    assert entries[1].details == {"method": "password", "level": 2, "ip": "203.0.113.5",
                                  "device": "Chrome trên Windows"}
    text = repr(entries)
    for secret in ("001090123456", "Nguyễn", "912000111", "argon2", "Mozilla"):
        assert secret not in text


async def test_a_counter_registration_is_in_the_agents_log_too() -> None:
    store = FakeActivityStore()
    registered_by = {"agent_account_id": "agent-1", "office": {"name": "Bưu điện Hà Nội"}}
    await activity_log(store).on_event(account_created(registered_by=registered_by))
    assert store.of(ACCOUNT)[0].details["office"] == "Bưu điện Hà Nội"
    agent = store.of("agent-1")
    assert [(e.kind, e.details) for e in agent] == [
        ("counter_registration", {"account_id": ACCOUNT, "office": "Bưu điện Hà Nội"})]


async def test_a_redelivered_event_adds_nothing() -> None:
    store = FakeActivityStore()
    log = activity_log(store)
    event = new_event(AuthMethodAdded(account_id=ACCOUNT, method_id="m-1", type="sms"),
                      correlation_id="s", occurred_at=AT)
    for _ in range(3):
        await log.on_event(event)
    assert len(store.of(ACCOUNT)) == 1


async def test_events_outside_the_log_and_unknown_accounts_add_nothing() -> None:
    store = FakeActivityStore()
    log = activity_log(store)
    await log.on_event(new_event(OtpSent(flow_id="f", purpose="login", phone="+84912000111",
                                         challenge_id="c", expires_at="x"), correlation_id="f"))
    await log.on_event(failed(1, account_id=None))
    assert store.entries == {}
    assert "OtpSent" not in ACTIVITY_EVENT_TYPES and "LoginFailed" in ACTIVITY_EVENT_TYPES


async def test_a_lost_race_takes_the_next_place_on_the_chain() -> None:
    store = FakeActivityStore()
    log = activity_log(store)
    await log.append(new(1))
    # Another writer appends seq 2 between our read of the last entry and our insert.
    store.racing.append(chain(KEY, new(2), 2, store.of(ACCOUNT)[0].hash))
    await log.append(new(3))
    entries = store.of(ACCOUNT)
    assert [e.seq for e in entries] == [1, 2, 3] and entries[2].prev_hash == entries[1].hash
    assert first_break(KEY, ACCOUNT, entries, store.heads[ACCOUNT]) is None


async def test_endless_contention_is_retried_later() -> None:
    class AlwaysLosing(FakeActivityStore):
        async def insert(self, entry: Any) -> bool:
            return False

    with pytest.raises(ActivityContended):
        await activity_log(AlwaysLosing()).append(new(1))


async def test_failed_logins_are_summed_per_window() -> None:
    store = FakeActivityStore()
    log = activity_log(store)
    for n in range(1, 13):
        await log.on_event(failed(n, minutes=n / 10))
    await log.on_event(failed(99, minutes=20))  # the next window starts over
    entries = store.of(ACCOUNT)
    assert [e.details["failures"] for e in entries] == [1, 5, 10, 1]
    assert entries[0].details["device"] == "Chrome trên Windows"
    # A redelivered failure keeps its place and adds nothing.
    await log.on_event(failed(5, minutes=0.5))
    assert len(store.of(ACCOUNT)) == 4


# --- the owner ------------------------------------------------------------------------------

async def test_the_owner_pages_through_their_own_log_newest_first() -> None:
    store = FakeActivityStore()
    log = activity_log(store)
    for n in range(1, 6):
        await log.append(new(n))
    await log.append(new(1, account_id="acc-2"))
    first = await log.me_activity({"session_token": "tok-1", "limit": 2})
    assert [i["seq"] for i in first["items"]] == [5, 4] and first["next_before"] == 4
    second = await log.me_activity({"session_token": "tok-1", "limit": 2, "before": 4})
    assert [i["seq"] for i in second["items"]] == [3, 2]
    last = await log.me_activity({"session_token": "tok-1", "limit": 2, "before": 2})
    assert [i["seq"] for i in last["items"]] == [1] and "next_before" not in last
    assert set(first["items"][0]) == {"seq", "at", "kind", "details"}
    # The session says whose log it is: an account id in the request is refused, never read.
    other = await log.me_activity({"session_token": "tok-2"})
    assert [i["seq"] for i in other["items"]] == [1]
    with pytest.raises(ContractViolation):
        await log.me_activity({"session_token": "tok-2", "account_id": ACCOUNT})


async def test_no_session_no_log() -> None:
    with pytest.raises(Unauthenticated):
        await activity_log().me_activity({"session_token": "nope"})
    with pytest.raises(ContractViolation):  # under its contract's bounds
        await activity_log().me_activity({"session_token": "tok-1", "limit": 0})


# --- the operator ---------------------------------------------------------------------------

async def test_verify_names_the_broken_account_and_export_gives_the_chain() -> None:
    store = FakeActivityStore()
    log = activity_log(store)
    for account in ("acc-1", "acc-2", "acc-3"):
        for n in range(1, 4):
            await log.append(new(n, account_id=account))
    clean = await log.admin_verify_audit({})
    assert clean == {"accounts": 3, "entries": 9, "broken": []}
    tampered = store.entries[("acc-2", 2)]
    store.entries[("acc-2", 2)] = dataclasses.replace(tampered, kind="profile_updated")
    paged = await log.admin_verify_audit({"limit": 2})
    assert paged["broken"] == [{"account_id": "acc-2", "seq": 2, "reason": "hash_mismatch"}]
    assert paged["next_after"] == "acc-2"
    rest = await log.admin_verify_audit({"after": "acc-2", "limit": 2})
    assert rest["accounts"] == 1 and rest["broken"] == [] and "next_after" not in rest
    one = await log.admin_verify_audit({"account_id": "acc-1"})
    assert one["broken"] == []

    exported = await log.admin_export_audit({"account_id": "acc-1", "limit": 2})
    assert [i["seq"] for i in exported["items"]] == [1, 2] and exported["next_after"] == 2
    assert set(exported["items"][0]) >= {"hash", "prev_hash", "event_id", "account_id"}
