"""Fakes of the registration ports: in-memory, transactional enough to test the use cases."""

from __future__ import annotations

import asyncio
import copy
import hashlib
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from services.registration.bootstrap import build
from services.registration.domain.errors import (
    AccountExists,
    ExternalUnavailable,
    OtpRejected,
    PkiRejected,
    TransactionConflict,
    UsernameTaken,
    ValidationFailed,
)
from services.registration.domain.flow import (
    FLOW_EXPIRED_CODE,
    UNFINISHED,
    RegistrationFlow,
    Status,
)
from services.registration.domain.identity import Sex
from services.registration.domain.methods.post_office import DAILY_LIMIT, CounterRegistration
from services.registration.domain.model import (
    IdentityRecord,
    InsuredPerson,
    Subscriber,
    rfc3339,
)
from services.registration.domain.signature import CertificateProof
from services.registration.domain.throttle import Count
from services.registration.expiry import ExpirySweeper
from services.registration.flows import Dependencies
from services.registration.handlers import RegistrationHandlers
from services.registration.methods.phone_otp import OtpEvents
from services.registration.methods.signature import CertificateEvents
from shared.clock import FrozenClock
from shared.contracts import registration as REG
from shared.contracts.base import ContractViolation
from shared.contracts.otp import IssuedOtp, OtpPolicy
from shared.contracts.pki import SignatureChallenge, SimStarted
from shared.events import Envelope
from shared.phones import mask_phone
from shared.rpc import serving
from shared.storage import AlreadyProcessed

OTP_LIFETIME = timedelta(minutes=5)
# The otp service's wait between sends, as its policy answers it.
RESEND_INTERVAL = timedelta(seconds=60)


@dataclass
class FakeStore:
    """What a committed database would hold."""

    registrations: dict[str, RegistrationFlow] = field(default_factory=dict)
    identities: dict[str, IdentityRecord] = field(default_factory=dict)
    counter_registrations: dict[str, CounterRegistration] = field(default_factory=dict)
    processed: set[str] = field(default_factory=set)
    events: list[Envelope] = field(default_factory=list)
    commits: int = 0
    # The next this many commits meet a concurrent transaction (a database write conflict).
    conflicts: int = 0
    # Runs once, then the next transition conflicts (what another writer did meanwhile).
    conflict_once: Callable[[FakeStore], None] | None = None

    def events_of(self, event_type: str) -> list[Envelope]:
        return [e for e in self.events if e.type == event_type]


class FakeRegistrationRepository:
    def __init__(self, rows: dict[str, RegistrationFlow], store: FakeStore) -> None:
        self.rows = rows
        self.store = store

    async def add(self, registration: RegistrationFlow) -> None:
        assert registration.id not in self.rows
        self.rows[registration.id] = copy.deepcopy(registration)

    async def get(self, registration_id: str) -> RegistrationFlow | None:
        row = self.rows.get(registration_id)
        return copy.deepcopy(row) if row else None

    async def transition(self, registration_id: str, *, from_status: Status, to_status: Status,
                         now: datetime, changes: dict[str, Any] | None = None,
                         only_if_live: bool = True) -> RegistrationFlow | None:
        if self.store.conflict_once is not None:
            # Another writer (an event consumer) commits first: this transaction
            # conflicts, as MongoDB's WriteConflict.
            meanwhile, self.store.conflict_once = self.store.conflict_once, None
            meanwhile(self.store)
            raise TransactionConflict("WriteConflict")
        row = self.rows.get(registration_id)
        if row is None or row.status != from_status or (only_if_live and row.is_expired(now)):
            return None
        moved = replace(row, status=to_status, **(changes or {}))
        self.rows[registration_id] = moved
        return copy.deepcopy(moved)

    async def fail_one_expired(self, now: datetime,
                               methods: Collection[str]) -> RegistrationFlow | None:
        lapsed = sorted((r for r in self.rows.values()
                         if r.status in UNFINISHED and r.expires_at <= now
                         and r.method in methods),
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


class FakeCounterRegistrations:
    def __init__(self, rows: dict[str, CounterRegistration]) -> None:
        self.rows = rows

    async def add(self, record: CounterRegistration) -> None:
        if any(r.username == record.username for r in self.rows.values()):
            raise UsernameTaken(record.username)
        self.rows[record.id] = record


class FakeUnitOfWork:
    """Works on a copy of the store; only ``commit`` makes changes and events visible."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def __aenter__(self) -> Self:
        self._registrations = copy.deepcopy(self.store.registrations)
        self._identities = dict(self.store.identities)
        self._counter = dict(self.store.counter_registrations)
        self._processed = set(self.store.processed)
        self._events: list[Envelope] = []
        self.registrations = FakeRegistrationRepository(self._registrations, self.store)
        self.identities = FakeIdentityRepository(self._identities)
        self.counter_registrations = FakeCounterRegistrations(self._counter)
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
        self.store.counter_registrations = self._counter
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

    async def issue(self, flow_id: str, purpose: str, phone: str) -> IssuedOtp:
        self._raise_next_error()
        self.issued.append((flow_id, purpose, phone))
        now = self.clock()
        return IssuedOtp(challenge_id=f"c{len(self.issued)}", phone_masked=mask_phone(phone),
                         expires_at=rfc3339(now + OTP_LIFETIME),
                         resend_available_at=rfc3339(now + RESEND_INTERVAL))

    async def policy(self) -> OtpPolicy:
        return OtpPolicy(code_digits=6, code_lifetime_seconds=int(OTP_LIFETIME.total_seconds()),
                         resend_interval_seconds=int(RESEND_INTERVAL.total_seconds()),
                         max_attempts=5)

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
    to refuse (its password rule is profile's, tested there) or to be unreachable.
    ``before_stage`` lets a test hold a call at that point."""

    def __init__(self) -> None:
        self.staged: dict[str, tuple[str, str]] = {}
        # What each call handed over besides the password (the rule's context).
        self.contexts: list[dict[str, str]] = []
        self.error: Exception | None = None
        self.before_stage: Callable[[], Awaitable[None]] | None = None

    async def stage(self, registration_id: str, password: str, *, confirmation: str,
                    id_number: str, phone: str) -> str:
        if self.before_stage is not None:
            await self.before_stage()
        self.contexts.append({"registration_id": registration_id, "confirmation": confirmation,
                              "id_number": id_number, "phone": phone})
        if self.error is not None:
            raise self.error
        credential_id = f"cred-{len(self.staged) + 1}"
        self.staged[credential_id] = (registration_id, password)
        return credential_id


CITIZEN_IDENTITY = {"id_type": "CCCD", "id_number": "001090001234", "full_name": "Nguyễn Văn An"}
CITIZEN_PROOF: dict[str, Any] = {
    "subject_type": "citizen",
    "identity": CITIZEN_IDENTITY,
    "fingerprint_sha256": "ab" * 32, "serial": "1f", "issuer": "CN=Sandbox Issuing CA",
    "not_after": "2027-01-01T00:00:00Z", "level": 3,
}


class FakePki:
    def __init__(self) -> None:
        self.proof: dict[str, Any] = CITIZEN_PROOF
        self.refusal: PkiRejected | None = None
        self.sim_answer: dict[str, Any] | None = None  # None: the owner has not answered
        self.calls: list[tuple[str, str, str]] = []

    async def challenge(self, flow_id: str, purpose: str) -> SignatureChallenge:
        self.calls.append(("challenge", flow_id, purpose))
        return SignatureChallenge(challenge="Y2hhbGxlbmdl", expires_at="2026-01-01T00:05:00Z")

    async def verify_signature(self, flow_id: str, purpose: str, certificate: str,
                               chain: list[str] | str | None, signature: str) -> CertificateProof:
        self.calls.append(("verify_signature", flow_id, purpose))
        if self.refusal is not None:
            raise self.refusal
        return CertificateProof.from_pki(self.proof)

    async def sim_start(self, flow_id: str, purpose: str, phone: str) -> SimStarted:
        self.calls.append(("sim_start", flow_id, phone))
        return SimStarted(verification_code="4321", expires_at="x", status="pending")

    async def sim_status(self, flow_id: str, purpose: str,
                         wait_seconds: float = 0) -> CertificateProof | None:
        if self.refusal is not None:
            raise self.refusal
        return CertificateProof.from_pki(self.sim_answer) if self.sim_answer else None


class FakeNotices:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.error: Exception | None = None

    async def send_initial_password(self, phone: str, username: str, password: str) -> None:
        if self.error:
            raise self.error
        self.sent.append({"phone": phone, "username": username, "password": password})


class FakeAgentDays:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    async def claim(self, key: str, limit: int, purge_at: datetime) -> bool:
        if self.counts.get(key, 0) >= limit:
            return False
        self.counts[key] = self.counts.get(key, 0) + 1
        return True


class Failpoints:
    def __init__(self) -> None:
        self.hits: list[str] = []

    def __call__(self, name: str) -> None:
        self.hits.append(name)


def named_fields(error: Exception) -> set[str]:
    """The fields a refusal names: the service's own (with a detail each) or the contract's
    (a misfit of type or bounds, refused before the service reads the request)."""
    if isinstance(error, ContractViolation):
        return set(error.fields)
    assert isinstance(error, ValidationFailed)
    return {f["name"] for f in error.fields or []}


class Served:
    """The endpoints as the service serves them (entrypoints.py): the JSON payload is read
    into its contract (a misfit raises ContractViolation), the answer's JSON comes back."""

    def __init__(self, handlers: RegistrationHandlers) -> None:
        self.deps = handlers.deps
        self.start = serving(REG.START, handlers.start)
        self.get = serving(REG.GET, handlers.get)
        self.submit_otp = serving(REG.SUBMIT_OTP, handlers.submit_otp)
        self.resend_otp = serving(REG.RESEND_OTP, handlers.resend_otp)
        self.set_password = serving(REG.SET_PASSWORD, handlers.set_password)
        self.submit_signature = serving(REG.SUBMIT_SIGNATURE, handlers.submit_signature)
        self.confirm = serving(REG.CONFIRM, handlers.confirm)
        self.agent_register_start = serving(REG.AGENT_REGISTER_START,
                                            handlers.agent_register_start)
        self.agent_register_resend = serving(REG.AGENT_REGISTER_RESEND,
                                             handlers.agent_register_resend)
        self.agent_register_confirm = serving(REG.AGENT_REGISTER_CONFIRM,
                                              handlers.agent_register_confirm)
        self.on_account_created = handlers.on_account_created


@dataclass
class World:
    """Everything a handler test needs, wired the way entrypoints wires the real thing."""

    store: FakeStore
    clock: FrozenClock
    telco: FakeSubscriberRegistry
    otp: FakeOtpGateway
    failpoints: Failpoints
    handlers: Served
    bhxh: FakeInsuranceRegistry
    credentials: FakeCredentialOwner
    pki: FakePki
    notices: FakeNotices
    otp_events: OtpEvents
    certificate_events: CertificateEvents
    sweeper: ExpirySweeper

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)


FLOW_SECRET = "test-flow-secret"


def make_world(now: datetime | None = None, *, new_id: Callable[[], str] | None = None,
               new_username: Callable[[], str] | None = None,
               new_password: Callable[[], str] | None = None,
               counter_daily_limit: int = DAILY_LIMIT) -> World:
    store = FakeStore()
    clock = FrozenClock(now)
    telco = FakeSubscriberRegistry()
    insurance = FakeInsuranceRegistry()
    otp = FakeOtpGateway(clock)
    failpoints = Failpoints()
    credentials = FakeCredentialOwner()
    pki, notices = FakePki(), FakeNotices()
    deps = Dependencies(
        uow=lambda: FakeUnitOfWork(store),
        subscribers=telco,
        insurance=insurance,
        otp=otp,
        pki=pki,
        notices=notices,
        agent_days=FakeAgentDays(),
        clock=clock,
        flow_secret=FLOW_SECRET,
        start_attempts=FakeAttemptCounter(),
        credentials=credentials,
        failpoint=failpoints,
        counter_daily_limit=counter_daily_limit,
    )
    if new_id is not None:
        deps.new_id = new_id
    if new_username is not None:
        deps.new_username = new_username
    if new_password is not None:
        deps.new_password = new_password
    built = build(deps)
    return World(store, clock, telco, otp, failpoints, Served(built.handlers), insurance,
                 credentials,
                 pki, notices, built.otp_events, built.certificate_events, built.sweeper)


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
