"""Fakes of the registration ports: in-memory, transactional enough to test the use cases."""

from __future__ import annotations

import asyncio
import copy
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from services.registration.domain.errors import (
    AccountExists,
    ExternalUnavailable,
    OtpRejected,
    TransactionConflict,
)
from services.registration.domain.identity import Sex
from services.registration.domain.model import (
    FLOW_EXPIRED_CODE,
    RESEND_DELAY,
    UNFINISHED,
    IdentityRecord,
    InsuredPerson,
    Registration,
    Status,
    Subscriber,
    rfc3339,
)
from services.registration.domain.ports import OtpIssued
from services.registration.domain.throttle import Count
from services.registration.handlers import Dependencies, RegistrationHandlers
from shared.clock import FrozenClock
from shared.events import Envelope
from shared.storage import AlreadyProcessed

OTP_LIFETIME = timedelta(minutes=5)


@dataclass
class FakeStore:
    """What a committed database would hold."""

    registrations: dict[str, Registration] = field(default_factory=dict)
    identities: dict[str, IdentityRecord] = field(default_factory=dict)
    processed: set[str] = field(default_factory=set)
    events: list[Envelope] = field(default_factory=list)
    commits: int = 0
    # The next this many commits meet a concurrent transaction (a database write conflict).
    conflicts: int = 0

    def events_of(self, event_type: str) -> list[Envelope]:
        return [e for e in self.events if e.type == event_type]


class FakeRegistrationRepository:
    def __init__(self, rows: dict[str, Registration]) -> None:
        self.rows = rows

    async def add(self, registration: Registration) -> None:
        assert registration.id not in self.rows
        self.rows[registration.id] = copy.deepcopy(registration)

    async def get(self, registration_id: str) -> Registration | None:
        row = self.rows.get(registration_id)
        return copy.deepcopy(row) if row else None

    async def transition(self, registration_id: str, *, from_status: Status, to_status: Status,
                         now: datetime, changes: dict[str, Any] | None = None,
                         only_if_live: bool = True) -> Registration | None:
        row = self.rows.get(registration_id)
        if row is None or row.status != from_status or (only_if_live and row.is_expired(now)):
            return None
        moved = replace(row, status=to_status, **(changes or {}))
        self.rows[registration_id] = moved
        return copy.deepcopy(moved)

    async def fail_one_expired(self, now: datetime) -> Registration | None:
        lapsed = sorted((r for r in self.rows.values()
                         if r.status in UNFINISHED and r.expires_at <= now),
                        key=lambda r: r.expires_at)
        if not lapsed:
            return None
        failed = replace(lapsed[0], status=Status.FAILED, code=FLOW_EXPIRED_CODE)
        self.rows[failed.id] = failed
        return copy.deepcopy(failed)


class FakeIdentityRepository:
    def __init__(self, rows: dict[str, IdentityRecord]) -> None:
        self.rows = rows

    async def exists(self, id_number: str) -> bool:
        return id_number in self.rows

    async def add(self, record: IdentityRecord) -> None:
        if record.key in self.rows:
            raise AccountExists()
        self.rows[record.key] = record

    async def ensure(self, record: IdentityRecord) -> None:
        self.rows.setdefault(record.key, record)


class FakeUnitOfWork:
    """Works on a copy of the store; only ``commit`` makes changes and events visible."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def __aenter__(self) -> Self:
        self._registrations = copy.deepcopy(self.store.registrations)
        self._identities = dict(self.store.identities)
        self._processed = set(self.store.processed)
        self._events: list[Envelope] = []
        self.registrations = FakeRegistrationRepository(self._registrations)
        self.identities = FakeIdentityRepository(self._identities)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._events = []

    def emit(self, event: Envelope) -> None:
        self._events.append(event)

    async def mark_processed(self, consumer: str, event_id: str) -> None:
        key = f"{consumer}:{event_id}"
        if key in self._processed:
            raise AlreadyProcessed(event_id)
        self._processed.add(key)

    async def commit(self) -> None:
        if self.store.conflicts:
            self.store.conflicts -= 1
            raise TransactionConflict("write conflict")
        self.store.registrations = self._registrations
        self.store.identities = self._identities
        self.store.processed = self._processed
        self.store.events.extend(self._events)
        self.store.commits += 1
        self._events = []


class FakeSubscriberRegistry:
    def __init__(self) -> None:
        self.records: dict[str, Subscriber] = {}
        self.unavailable = False
        self.lookups: list[str] = []

    def add(self, phone: str, id_number: str, full_name: str, birth_date: str,
            status: str = "active") -> None:
        self.records[phone] = Subscriber(phone=phone, id_number=id_number, full_name=full_name,
                                         birth_date=date.fromisoformat(birth_date), status=status)

    async def find(self, phone: str) -> Subscriber | None:
        self.lookups.append(phone)
        if self.unavailable:
            raise ExternalUnavailable()
        return self.records.get(phone)


class FakeInsuranceRegistry:
    def __init__(self) -> None:
        self.records: dict[str, InsuredPerson] = {}
        self.unavailable = False
        self.lookups: list[str] = []

    def add(self, bhxh_code: str, id_number: str, full_name: str, birth_date: str,
            sex: Sex = "male", phone: str | None = None) -> None:
        self.records[bhxh_code] = InsuredPerson(
            bhxh_code=bhxh_code, id_number=id_number, full_name=full_name,
            birth_date=date.fromisoformat(birth_date), sex=sex, phone=phone)

    async def find(self, bhxh_code: str) -> InsuredPerson | None:
        self.lookups.append(bhxh_code)
        if self.unavailable:
            raise ExternalUnavailable()
        return self.records.get(bhxh_code)


class FakeAttemptCounter:
    """Fixed windows per key, as the Mongo counter keeps them."""

    def __init__(self) -> None:
        self.windows: dict[str, Count] = {}

    async def hit(self, key: str, now: datetime, window: timedelta) -> Count:
        current = self.windows.get(key)
        if current is None or current.window_ends <= now:
            current = Count(starts=0, window_ends=now + window)
        self.windows[key] = replace(current, starts=current.starts + 1)
        return self.windows[key]


class FakeOtpGateway:
    """Accepts ``valid_code``; ``next_error`` makes the next call fail with it."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.valid_code = "246810"
        self.next_error: Exception | None = None
        self.issued: list[tuple[str, str, str]] = []
        self.verified: list[tuple[str, str, str]] = []
        # Runs after a successful verify: lets a test play the OtpVerified consumer's race.
        self.after_verify: Any = None
        # Runs before ``next_error`` is raised (what happened meanwhile elsewhere).
        self.before_error: Any = None

    def _raise_next_error(self) -> None:
        error, self.next_error = self.next_error, None
        if error is not None:
            raise error

    async def _fail_if_told(self) -> None:
        if self.next_error is not None and self.before_error is not None:
            await self.before_error()
        self._raise_next_error()

    async def issue(self, flow_id: str, purpose: str, phone: str) -> OtpIssued:
        self._raise_next_error()
        self.issued.append((flow_id, purpose, phone))
        now = self.clock()
        return OtpIssued(expires_at=rfc3339(now + OTP_LIFETIME),
                         resend_available_at=rfc3339(now + RESEND_DELAY))

    async def verify(self, flow_id: str, purpose: str, phone: str, code: str) -> None:
        await self._fail_if_told()
        self.verified.append((flow_id, purpose, code))
        if code != self.valid_code:
            raise OtpRejected("otp_invalid", "Mã OTP không đúng. Bạn còn 4 lần thử.")
        if self.after_verify is not None:
            await self.after_verify()


async def fake_hash_password(password: str) -> str:
    # Fast stand-in for argon2id: a hash, never the password itself.
    return "fake-argon2id$" + hashlib.sha256(password.encode()).hexdigest()


class FakeCredentialOwner:
    """profile's ``stage_credential``: keeps what it was handed under a fresh id; can be told
    to be unreachable. ``before_stage`` lets a test hold a call at that point."""

    def __init__(self) -> None:
        self.staged: dict[str, tuple[str, str]] = {}
        self.error: Exception | None = None
        self.before_stage: Callable[[], Awaitable[None]] | None = None

    async def stage(self, registration_id: str, password: str) -> str:
        if self.before_stage is not None:
            await self.before_stage()
        if self.error is not None:
            raise self.error
        credential_id = f"cred-{len(self.staged) + 1}"
        self.staged[credential_id] = (registration_id, password)
        return credential_id


class Failpoints:
    def __init__(self) -> None:
        self.hits: list[str] = []

    def __call__(self, name: str) -> None:
        self.hits.append(name)


@dataclass
class World:
    """Everything a handler test needs, wired the way entrypoints wires the real thing."""

    store: FakeStore
    clock: FrozenClock
    telco: FakeSubscriberRegistry
    otp: FakeOtpGateway
    failpoints: Failpoints
    handlers: RegistrationHandlers
    bhxh: FakeInsuranceRegistry
    credentials: FakeCredentialOwner


FLOW_SECRET = "test-flow-secret"


def make_world(now: datetime | None = None) -> World:
    store = FakeStore()
    clock = FrozenClock(now)
    telco = FakeSubscriberRegistry()
    insurance = FakeInsuranceRegistry()
    otp = FakeOtpGateway(clock)
    failpoints = Failpoints()
    credentials = FakeCredentialOwner()
    handlers = RegistrationHandlers(Dependencies(
        uow=lambda: FakeUnitOfWork(store),
        subscribers=telco,
        insurance=insurance,
        otp=otp,
        clock=clock,
        flow_secret=FLOW_SECRET,
        start_attempts=FakeAttemptCounter(),
        credentials=credentials,
        failpoint=failpoints,
    ))
    return World(store, clock, telco, otp, failpoints, handlers, insurance, credentials)


class FakeAccountActivations:
    """Activations in memory; waiters wake on ``record`` as the NATS wake-up does."""

    def __init__(self) -> None:
        self.active: dict[str, str] = {}
        self._changed = asyncio.Condition()

    async def record(self, registration_id: str, account_id: str) -> None:
        async with self._changed:
            self.active.setdefault(registration_id, account_id)
            self._changed.notify_all()

    async def is_active(self, registration_id: str) -> bool:
        return registration_id in self.active

    async def wait(self, registration_id: str, timeout: float) -> bool:
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: registration_id in self.active), timeout)
            except TimeoutError:
                return False
            return True
