"""The account activity log (issue 10): which events become entries, what an entry keeps, and
the hash chain that makes a rewritten history detectable. Pure: no I/O, no clock.

Each account has its own chain: entry ``seq`` n holds ``prev_hash`` = the hash of entry n-1
(``GENESIS`` for the first) and ``hash`` = HMAC-SHA256 under the audit key over a canonical
JSON of (account_id, seq, prev_hash, event_id, kind, at, details). A keyed hash rather than a
plain SHA-256: someone who can write to the database can recompute a plain chain after
rewriting an entry, but not an HMAC whose key lives in profile's configuration only.

Entries keep what the owner needs to recognise an action (time, kind, method, masked phone,
IP, a coarse device) and never a secret (OTP, token, password hash) or the identity.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from services.profile.domain.devices import device_words
from shared.phones import mask_phone

GENESIS = "0" * 64
# Failed logins of one account are summed per window of this length (FLOWS.md: 15 minutes).
BURST_WINDOW = timedelta(minutes=15)
# The failures of a window that make an entry: the first, then the guard's thresholds (captcha
# at 5, lock at 10) and every order of magnitude after, so a flood adds a handful of entries.
_BURST_MILESTONES = (1, 5, 10, 25, 50, 100)

Details = dict[str, Any]
Transform = Callable[[Any], tuple[str, Any] | None]


def _device(user_agent: Any) -> tuple[str, Any] | None:
    return ("device", device_words(user_agent)) if isinstance(user_agent, str) else None


def _masked_phone(phone: Any) -> tuple[str, Any] | None:
    return ("phone_masked", mask_phone(phone)) if isinstance(phone, str) and phone else None


def _office(registered_by: Any) -> tuple[str, Any] | None:
    office = registered_by.get("office") if isinstance(registered_by, Mapping) else None
    name = office.get("name") if isinstance(office, Mapping) else None
    return ("office", name) if isinstance(name, str) else None


# Payload fields that are not copied as they are: personal data is masked or coarsened.
_TRANSFORMS: dict[str, Transform] = {
    "user_agent": _device,
    "phone": _masked_phone,
    "registered_by": _office,
}


@dataclass(frozen=True)
class ActivityRule:
    """Event ``event_type`` → an entry ``kind`` in the log of the account named by the payload
    field ``account_field`` (dotted path), keeping ``fields`` of the payload."""

    event_type: str
    kind: str
    fields: tuple[str, ...] = ()
    account_field: str = "account_id"
    # LoginFailed: one entry per burst of failures, not per failure.
    burst: bool = False

    def account_of(self, payload: Mapping[str, Any]) -> str | None:
        value: Any = payload
        for part in self.account_field.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value if isinstance(value, str) and value else None

    def details_of(self, payload: Mapping[str, Any]) -> Details:
        details: Details = {}
        for name in self.fields:
            value = payload.get(name)
            if value is None:
                continue
            transform = _TRANSFORMS.get(name)
            kept = transform(value) if transform else (name, value)
            if kept is not None and kept[1] is not None:
                details[kept[0]] = kept[1]
        return details


_CLIENT = ("ip", "user_agent")
# One line per security-relevant event; a new event joins the log by adding its line here.
ACTIVITY_RULES: tuple[ActivityRule, ...] = (
    ActivityRule("AccountCreated", "account_created",
                 ("method", "level", "subject_type", "registered_by")),
    ActivityRule("AccountCreated", "counter_registration", ("account_id", "registered_by"),
                 account_field="registered_by.agent_account_id"),
    ActivityRule("LoginSucceeded", "login_succeeded", ("method", "level", *_CLIENT)),
    ActivityRule("LoginFailed", "login_failed", ("method", "reason", *_CLIENT), burst=True),
    ActivityRule("AuthMethodAdded", "auth_method_added", ("type", "method_id")),
    ActivityRule("AuthMethodRemoved", "auth_method_removed", ("type", "method_id")),
    ActivityRule("PasswordChanged", "password_changed", ("reason",)),
    ActivityRule("OtpPhoneReplaced", "phone_replaced", ("phone_id", "phone")),
    ActivityRule("SessionRevoked", "session_ended", ("session_id", "reason")),
    ActivityRule("ProfileUpdated", "profile_updated", ("fields",)),
)
ACTIVITY_EVENT_TYPES: tuple[str, ...] = tuple(dict.fromkeys(r.event_type for r in ACTIVITY_RULES))


def rules_for(event_type: str) -> list[ActivityRule]:
    return [r for r in ACTIVITY_RULES if r.event_type == event_type]


@dataclass(frozen=True)
class NewEntry:
    """What an event adds to one account's log, before it is given its place in the chain."""

    account_id: str
    event_id: str
    kind: str
    at: str  # RFC 3339, UTC, microseconds: hashed as this exact text
    details: Details = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    account_id: str
    seq: int
    prev_hash: str
    event_id: str
    kind: str
    at: str
    details: Details
    hash: str

    def hashed_fields(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "seq": self.seq, "prev_hash": self.prev_hash,
                "event_id": self.event_id, "kind": self.kind, "at": self.at,
                "details": self.details}


def at_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """One byte string per content: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def entry_hash(key: str, fields: Mapping[str, Any]) -> str:
    return hmac.new(key.encode(), canonical(fields), hashlib.sha256).hexdigest()


def chain(key: str, new: NewEntry, seq: int, prev_hash: str) -> Entry:
    """``new`` as entry ``seq`` after the entry whose hash is ``prev_hash``."""
    unhashed = Entry(account_id=new.account_id, seq=seq, prev_hash=prev_hash,
                     event_id=new.event_id, kind=new.kind, at=new.at, details=new.details,
                     hash="")
    return Entry(**{**unhashed.hashed_fields(), "hash": entry_hash(key, unhashed.hashed_fields())})


@dataclass(frozen=True)
class ChainBreak:
    account_id: str
    seq: int
    reason: str  # hash_mismatch, prev_hash_mismatch, seq_gap, head_mismatch, truncated


def first_break(key: str, account_id: str, entries: Iterable[Entry],
                head: tuple[int, str] | None) -> ChainBreak | None:
    """Walks the chain from seq 1 (``entries`` in seq order) and names the first entry that
    does not fit: its content changed, its link, a missing entry, or entries cut at the end
    (the head records the newest (seq, hash); it may lag one append after a crash, never
    lead)."""
    expected_seq, prev = 1, GENESIS
    hashes: dict[int, str] = {}
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainBreak(account_id, expected_seq, "seq_gap")
        if entry.prev_hash != prev:
            return ChainBreak(account_id, entry.seq, "prev_hash_mismatch")
        if not hmac.compare_digest(entry.hash, entry_hash(key, entry.hashed_fields())):
            return ChainBreak(account_id, entry.seq, "hash_mismatch")
        hashes[entry.seq] = entry.hash
        expected_seq, prev = entry.seq + 1, entry.hash
    if head is not None:
        head_seq, head_hash = head
        if head_seq >= expected_seq:
            return ChainBreak(account_id, expected_seq, "truncated")
        if head_seq in hashes and not hmac.compare_digest(hashes[head_seq], head_hash):
            return ChainBreak(account_id, head_seq, "head_mismatch")
    return None


def burst_milestone(failures: int) -> bool:
    """Whether the ``failures``-th failed login of a window is written to the log."""
    return failures in _BURST_MILESTONES or (
        failures > _BURST_MILESTONES[-1] and failures % _BURST_MILESTONES[-1] == 0)


def burst_window(moment: datetime) -> datetime:
    """The start of the fixed window ``moment`` falls in: the same for every delivery."""
    seconds = int(BURST_WINDOW.total_seconds())
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def entry_view(entry: Entry) -> dict[str, Any]:
    """What the owner sees of an entry (the chain fields stay with the operators)."""
    return {"seq": entry.seq, "at": entry.at, "kind": entry.kind, "details": entry.details}


def export_view(entry: Entry) -> dict[str, Any]:
    return entry.hashed_fields() | {"hash": entry.hash}


class ActivityStore(Protocol):
    """Where the entries live (adapters/activity_mongo.py; a fake in the unit tests)."""

    async def last(self, account_id: str) -> Entry | None: ...

    async def has_event(self, account_id: str, event_id: str) -> bool: ...

    async def insert(self, entry: Entry) -> bool: ...

    async def advance_head(self, entry: Entry) -> None: ...

    async def head(self, account_id: str) -> tuple[int, str] | None: ...

    async def page(self, account_id: str, limit: int, before: int | None) -> list[Entry]: ...

    async def after(self, account_id: str, after: int, limit: int | None = None
                    ) -> list[Entry]: ...

    async def next_account(self, after: str | None) -> str | None: ...

    async def count_failure(self, account_id: str, window: datetime, event_id: str) -> int: ...
