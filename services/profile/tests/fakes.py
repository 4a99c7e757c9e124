"""In-memory fakes of profile's ports: the rules run without servers (cosmicpython style)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from argon2 import PasswordHasher

from services.profile.bootstrap import Ports, Profile, bootstrap
from services.profile.config import ProfileSettings
from services.profile.domain.account_management import MethodFlow
from services.profile.domain.activity import ActivityStore
from services.profile.domain.certificate_login import CertificateLogin, CertificateProof, PkiService
from services.profile.domain.credentials import StagedCredential
from services.profile.domain.errors import OtpRejected, PkiRejected
from services.profile.domain.guards import Count
from services.profile.domain.identity_keys import login_name_key
from services.profile.domain.models import (
    Account,
    AuthMethod,
    LoginFlow,
    LoginRecord,
    PasswordReset,
    Phone,
    Session,
    Subscriber,
)
from services.profile.domain.ports import CaptchaSounds, SubscriberRegistry
from services.profile.domain.step_up import StepUp
from services.profile.entrypoints import wiring_for
from services.profile.handlers.common import PasswordVerifier
from services.profile.handlers.settings.notices import NoticeSender
from services.profile.tests.activity_fakes import FakeActivityStore
from shared import crypto
from shared.clock import Clock
from shared.contracts.otp import IssuedOtp, OtpPolicy, VerifiedOtp
from shared.contracts.pki import SignatureChallenge, SimStarted
from shared.events import Envelope
from shared.failpoints import Failpoints
from shared.runtime import Endpoint
from shared.storage import AlreadyProcessed

# Cheap parameters: the hash still verifies with shared.crypto (they travel in the hash).
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def fast_password_hash(password: str) -> str:
    return _fast_hasher.hash(password)


class FakeAccounts:
    def __init__(self) -> None:
        self.rows: dict[str, Account] = {}

    async def add(self, account: Account) -> None:
        if account.account_id in self.rows or any(
                a.index_key == account.index_key for a in self.rows.values()):
            raise ValueError("duplicate key")
        self.rows[account.account_id] = account

    async def get(self, account_id: str) -> Account | None:
        return self.rows.get(account_id)

    async def find_by_key(self, key: str) -> Account | None:
        return next((a for a in self.rows.values() if a.index_key == key), None)

    async def find_by_login_name(self, name: str) -> Account | None:
        # As the Mongo adapter: username, then the CMND/CCCD key the number may mean.
        key = login_name_key(name)
        for match in (lambda a: a.username == name, lambda a: a.index_key == key):
            found = next((a for a in self.rows.values() if match(a)), None)
            if found:
                return found
        return None

    async def replace_phone(self, account_id: str, phone_id: str, phone: str,
                            now: datetime) -> bool:
        account = self.rows.get(account_id)
        if account is None or not any(p.phone_id == phone_id for p in account.phones):
            return False
        account.phones = [dataclasses.replace(p, phone=phone, added_at=now)
                          if p.phone_id == phone_id else p for p in account.phones]
        return True

    async def set_password(self, account_id: str, password_hash: str) -> bool:
        account = self.rows.get(account_id)
        if account is None:
            return False
        account.password_hash, account.must_change_password = password_hash, False
        return True

    async def set_disabled(self, account_id: str, disabled_at: datetime | None) -> bool:
        account = self.rows.get(account_id)
        if account is None:
            return False
        account.disabled_at = disabled_at
        return True


class FakeLoginFlows:
    def __init__(self) -> None:
        self.rows: dict[str, LoginFlow] = {}

    async def add(self, flow: LoginFlow) -> None:
        self.rows[flow.flow_id] = dataclasses.replace(flow)

    async def get(self, flow_id: str) -> LoginFlow | None:
        flow = self.rows.get(flow_id)
        return dataclasses.replace(flow) if flow else None

    async def complete(self, flow_id: str, session_id: str, now: datetime) -> bool:
        flow = self.rows.get(flow_id)
        if flow is None or flow.status != "otp_sent" or now >= flow.expires_at:
            return False
        flow.status, flow.session_id, flow.completed_at = "completed", session_id, now
        flow.pending_password_hash = None
        return True

    async def stage_password(self, flow_id: str, password_hash: str, now: datetime) -> bool:
        flow = self.rows.get(flow_id)
        if flow is None or flow.status != "password_change_required" or now >= flow.expires_at:
            return False
        flow.status, flow.pending_password_hash = "otp_sent", password_hash
        return True

    async def redirect_otp(self, flow_id: str, now: datetime, *, phone: str, phone_id: str,
                           otp_ref: str, new_phone: str | None) -> bool:
        flow = self.rows.get(flow_id)
        if flow is None or flow.status != "otp_sent" or now >= flow.expires_at:
            return False
        flow.phone, flow.phone_id, flow.otp_ref, flow.new_phone = (phone, phone_id, otp_ref,
                                                                   new_phone)
        return True

    async def advance(self, flow_id: str, from_status: str, to_status: str,
                      now: datetime) -> bool:
        flow = self.rows.get(flow_id)
        if flow is None or flow.status != from_status or now >= flow.expires_at:
            return False
        flow.status = to_status  # type: ignore[assignment]
        return True


class FakeResets:
    def __init__(self) -> None:
        self.rows: dict[str, PasswordReset] = {}

    async def add(self, reset: PasswordReset) -> None:
        self.rows[reset.reset_id] = dataclasses.replace(reset)

    async def get(self, reset_id: str) -> PasswordReset | None:
        reset = self.rows.get(reset_id)
        return dataclasses.replace(reset) if reset else None

    async def advance(self, reset_id: str, from_status: str, to_status: str,
                      now: datetime) -> bool:
        reset = self.rows.get(reset_id)
        if reset is None or reset.status != from_status or now >= reset.expires_at:
            return False
        reset.status = to_status  # type: ignore[assignment]
        return True


class FakeSessions:
    def __init__(self) -> None:
        self.rows: dict[str, Session] = {}

    def _by_hash(self, token_hash: str) -> Session | None:
        return next((s for s in self.rows.values() if s.token_hash == token_hash), None)

    async def add(self, session: Session) -> None:
        assert self._by_hash(session.token_hash) is None, "token_hash is unique"
        self.rows[session.session_id] = dataclasses.replace(session)

    async def touch(self, token_hash: str, now: datetime,
                    idle_expires_at: datetime) -> Session | None:
        s = self._by_hash(token_hash)
        if s is None or s.revoked_at is not None or not (
                now < s.idle_expires_at and now < s.absolute_expires_at):
            return None
        s.last_seen_at = max(s.last_seen_at, now)
        s.idle_expires_at = max(s.idle_expires_at, idle_expires_at)
        return dataclasses.replace(s)

    async def touch_by_id(self, session_id: str, now: datetime,
                          idle_expires_at: datetime) -> Session | None:
        s = self.rows.get(session_id)
        if s is None:
            return None
        return await self.touch(s.token_hash, now, idle_expires_at)

    async def revoke(self, token_hash: str, now: datetime) -> Session | None:
        s = self._by_hash(token_hash)
        if s is None or s.revoked_at is not None:
            return None
        s.revoked_at = now
        return dataclasses.replace(s)

    async def revoke_all(self, account_id: str, now: datetime) -> list[Session]:
        live = [s for s in self.rows.values()
                if s.account_id == account_id and s.revoked_at is None]
        for s in live:
            s.revoked_at = now
        return [dataclasses.replace(s, revoked_at=None) for s in live]


class FakeHistory:
    def __init__(self) -> None:
        self.rows: list[LoginRecord] = []

    async def add(self, record: LoginRecord) -> None:
        self.rows.append(record)

    async def recent(self, account_id: str, limit: int,
                     before: datetime | None = None) -> list[LoginRecord]:
        rows = [r for r in self.rows if r.account_id == account_id
                and (before is None or r.at < before)]
        return sorted(rows, key=lambda r: r.at, reverse=True)[:limit]


class FakeCredentials:
    def __init__(self) -> None:
        self.rows: dict[str, StagedCredential] = {}

    async def add(self, staged: StagedCredential) -> None:
        assert staged.credential_id not in self.rows, "_id is unique"
        self.rows[staged.credential_id] = staged

    async def take(self, credential_id: str, registration_id: str) -> str | None:
        staged = self.rows.get(credential_id)
        if staged is None or staged.registration_id != registration_id:
            return None
        del self.rows[credential_id]
        return staged.password_hash


class FakeManagedAccounts:
    def __init__(self, store: FakeStore) -> None:
        self._rows = store.accounts.rows
        self.former_phones: dict[str, list[Phone]] = {}
        self.former_emails: dict[str, str] = {}  # event id → the address it replaced

    async def keep_former_email(self, account_id: str, email: str, event_id: str,
                                now: datetime) -> None:
        self.former_emails[event_id] = email

    async def notice_email(self, account_id: str, event_id: str) -> str | None:
        account = self._rows.get(account_id)
        return self.former_emails.get(event_id) or (account.email if account else None)

    async def keep_former_phone(self, account_id: str, phone: Phone, now: datetime) -> None:
        self.former_phones.setdefault(account_id, []).append(phone)

    async def phone_numbers(self, account_id: str, phone_ids: list[str]) -> dict[str, str]:
        account = self._rows.get(account_id)
        known = [*self.former_phones.get(account_id, []), *(account.phones if account else [])]
        return {p.phone_id: p.phone for p in known if p.phone_id in phone_ids}

    async def update_contacts(self, account_id: str, changes: dict[str, str | None]) -> bool:
        account = self._rows.get(account_id)
        if account is None:
            return False
        for name, value in changes.items():
            setattr(account, name, value)
        return True

    async def add_phone_method(self, account_id: str, method: AuthMethod, phone: str,
                               now: datetime, max_phones: int) -> bool:
        account = self._rows[account_id]
        if len(account.phones) >= max_phones or any(p.phone == phone for p in account.phones):
            return False
        assert method.phone_id is not None
        account.phones.append(Phone(method.phone_id, phone, otp=True, added_at=now))
        account.auth_methods.append(method)
        return True

    async def add_certificate_method(self, account_id: str, method: AuthMethod,
                                     level: int) -> bool:
        account = self._rows[account_id]
        account.auth_methods.append(method)
        account.level = max(account.level, level)
        return True

    async def remove_method(self, account_id: str, method: AuthMethod,
                            expected_method_ids: list[str]) -> bool:
        account = self._rows[account_id]
        if sorted(m.method_id for m in account.auth_methods) != sorted(expected_method_ids):
            return False
        account.auth_methods = [m for m in account.auth_methods
                                if m.method_id != method.method_id]
        account.phones = [p for p in account.phones if p.phone_id != method.phone_id]
        return True

    async def owner_of_fingerprint(self, fingerprint_sha256: str) -> str | None:
        return next((a.account_id for a in self._rows.values() for m in a.auth_methods
                     if m.details.get("fingerprint_sha256") == fingerprint_sha256), None)


class FakeManagedSessions:
    def __init__(self, store: FakeStore) -> None:
        self._rows = store.sessions.rows

    async def active(self, account_id: str, now: datetime) -> list[Session]:
        live = [s for s in self._rows.values()
                if s.account_id == account_id and s.is_active(now)]
        return sorted(live, key=lambda s: s.created_at, reverse=True)

    async def revoke_one(self, account_id: str, session_id: str,
                         now: datetime) -> Session | None:
        s = self._rows.get(session_id)
        if s is None or s.account_id != account_id or not s.is_active(now):
            return None
        s.revoked_at = now
        return dataclasses.replace(s)

    async def revoke_others(self, account_id: str, keep_session_id: str,
                            now: datetime) -> list[Session]:
        live = [s for s in self._rows.values() if s.account_id == account_id
                and s.revoked_at is None and s.session_id != keep_session_id]
        for s in live:
            s.revoked_at = now
        return live

    async def mark_reauthenticated(self, session_id: str, at: datetime, level: int) -> bool:
        s = self._rows.get(session_id)
        if s is None or s.revoked_at is not None:
            return False
        s.reauthenticated_at, s.reauthenticated_level = at, level
        return True


class FakeStepUps:
    def __init__(self) -> None:
        self.rows: dict[str, StepUp] = {}

    async def add(self, flow: StepUp) -> None:
        self.rows[flow.flow_id] = dataclasses.replace(flow)

    async def get(self, flow_id: str) -> StepUp | None:
        flow = self.rows.get(flow_id)
        return dataclasses.replace(flow) if flow else None

    async def finish(self, flow_id: str, from_status: str, to_status: str, now: datetime, *,
                     code: str | None = None) -> bool:
        flow = self.rows.get(flow_id)
        if flow is None or flow.status != from_status or (
                to_status == "completed" and now >= flow.expires_at):
            return False
        flow.status = to_status  # type: ignore[assignment]
        flow.code = code or flow.code
        return True


class FakeMethodFlows:
    def __init__(self) -> None:
        self.rows: dict[str, MethodFlow] = {}

    async def add(self, flow: MethodFlow) -> None:
        self.rows[flow.flow_id] = dataclasses.replace(flow)

    async def get(self, flow_id: str) -> MethodFlow | None:
        flow = self.rows.get(flow_id)
        return dataclasses.replace(flow) if flow else None

    async def finish(self, flow_id: str, from_status: str, to_status: str, now: datetime, *,
                     method_id: str | None = None, code: str | None = None) -> bool:
        flow = self.rows.get(flow_id)
        if flow is None or flow.status != from_status or (
                to_status == "completed" and now >= flow.expires_at):
            return False
        flow.status = to_status  # type: ignore[assignment]
        flow.method_id, flow.code = method_id or flow.method_id, code or flow.code
        return True


class FakePki:
    """Vouches for ``proof`` on every signature (or SIM poll once ``approved``)."""

    def __init__(self, proof: CertificateProof) -> None:
        self.proof = proof
        self.approved = False
        self.refusal: PkiRejected | None = None

    async def challenge(self, flow_id: str, purpose: str) -> SignatureChallenge:
        return SignatureChallenge(challenge="Y2hhbGxlbmdl", expires_at="2026-01-01T00:05:00+00:00")

    async def verify_signature(self, flow_id: str, purpose: str, certificate: str,
                               chain: list[str] | str | None,
                               signature: str) -> CertificateProof:
        if self.refusal:
            raise self.refusal
        return self.proof

    async def sim_start(self, flow_id: str, purpose: str, phone: str) -> SimStarted:
        return SimStarted(verification_code="1234", expires_at="2026-01-01T00:05:00+00:00",
                          status="pending")

    async def sim_status(self, flow_id: str, purpose: str) -> CertificateProof | None:
        if self.refusal:
            raise self.refusal
        return self.proof if self.approved else None


class FakeCertificateLogins:
    def __init__(self) -> None:
        self.rows: dict[str, CertificateLogin] = {}

    async def add(self, flow: CertificateLogin) -> None:
        self.rows[flow.flow_id] = dataclasses.replace(flow)

    async def get(self, flow_id: str) -> CertificateLogin | None:
        flow = self.rows.get(flow_id)
        return dataclasses.replace(flow) if flow else None

    async def complete(self, flow_id: str, account_id: str, session_id: str,
                       now: datetime) -> bool:
        flow = self.rows.get(flow_id)
        if flow is None or flow.status != "awaiting_signature" or flow.is_expired(now):
            return False
        flow.status, flow.account_id, flow.session_id = "completed", account_id, session_id
        return True

    async def fail(self, flow_id: str, code: str, now: datetime) -> bool:
        flow = self.rows.get(flow_id)
        if flow is None or flow.status != "awaiting_signature":
            return False
        flow.status, flow.code = "failed", code
        return True


class FakeCertificateAccounts:
    def __init__(self, store: FakeStore) -> None:
        self.rows = store.accounts.rows

    async def find_by_fingerprint(self, fingerprint_sha256: str) -> Account | None:
        return next((a for a in self.rows.values() for m in a.auth_methods
                     if m.details.get("fingerprint_sha256") == fingerprint_sha256), None)


class FakeVneidAccounts:
    def __init__(self, store: FakeStore) -> None:
        self.rows = store.accounts.rows

    async def find_by_sub(self, sub: str) -> Account | None:
        return next((a for a in self.rows.values() for m in a.auth_methods
                     if m.details.get("vneid_sub") == sub), None)

    async def add_link(self, account_id: str, index_key: str, method: AuthMethod) -> bool:
        account = self.rows.get(account_id)
        if account is None or account.index_key != index_key or any(
                m.type == "vneid" for m in account.auth_methods):
            return False
        account.auth_methods.append(method)
        return True


class FakeStore:
    def __init__(self) -> None:
        self.accounts = FakeAccounts()
        self.logins = FakeLoginFlows()
        self.sessions = FakeSessions()
        self.history = FakeHistory()
        self.resets = FakeResets()
        self.credentials = FakeCredentials()
        self.managed_accounts = FakeManagedAccounts(self)
        self.managed_sessions = FakeManagedSessions(self)
        self.method_flows = FakeMethodFlows()
        self.step_ups = FakeStepUps()
        self.certificate_logins = FakeCertificateLogins()
        self.certificate_accounts = FakeCertificateAccounts(self)
        self.vneid_accounts = FakeVneidAccounts(self)
        self.processed: set[str] = set()
        # Events of committed units of work, in order: what the relay would publish.
        self.published: list[Envelope] = []


class FakeUnitOfWork:
    """Writes go straight to the shared store; only events wait for the commit."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self.accounts = store.accounts
        self.logins = store.logins
        self.sessions = store.sessions
        self.history = store.history
        self.resets = store.resets
        self.credentials = store.credentials
        self.managed_accounts = store.managed_accounts
        self.managed_sessions = store.managed_sessions
        self.method_flows = store.method_flows
        self.step_ups = store.step_ups
        self.certificate_logins = store.certificate_logins
        self.certificate_accounts = store.certificate_accounts
        self.vneid_accounts = store.vneid_accounts
        self._pending: list[Envelope] = []
        self._marks: list[str] = []
        self.committed = False

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self._pending, self._marks = [], []

    def emit(self, event: Envelope) -> None:
        self._pending.append(event)

    async def mark_processed(self, consumer: str, event_id: str) -> None:
        key = f"{consumer}:{event_id}"
        if key in self._store.processed:
            raise AlreadyProcessed(event_id)
        self._marks.append(key)

    async def commit(self) -> None:
        self._store.processed.update(self._marks)
        self._store.published.extend(self._pending)
        self._pending, self._marks = [], []
        self.committed = True


class FakeOtp:
    """Accepts ``code`` once per flow, like the otp service; can be told to refuse."""

    def __init__(self, code: str = "123456") -> None:
        self.code = code
        self.issued: list[dict[str, Any]] = []
        self.verified: list[dict[str, Any]] = []
        self.issue_error: OtpRejected | None = None
        self._used: set[str] = set()

    async def issue(self, flow_id: str, purpose: str, phone: str) -> IssuedOtp:
        if self.issue_error:
            raise self.issue_error
        self.issued.append({"flow_id": flow_id, "purpose": purpose, "phone": phone})
        self._used.discard(flow_id)
        return IssuedOtp(challenge_id=f"c{len(self.issued)}", phone_masked="masked",
                         expires_at="2026-01-01T00:05:00+00:00",
                         resend_available_at="2026-01-01T00:01:00+00:00")

    async def verify(self, flow_id: str, purpose: str, phone: str,
                     code: str) -> VerifiedOtp:
        self.verified.append({"flow_id": flow_id, "purpose": purpose, "phone": phone})
        if flow_id in self._used:
            raise OtpRejected("not_found", "Mã OTP đã được sử dụng.")
        # Like the otp service: the code is bound to the number of the flow's last send.
        sent_to = next((i["phone"] for i in reversed(self.issued) if i["flow_id"] == flow_id),
                       None)
        if code != self.code or sent_to != phone:
            raise OtpRejected("otp_invalid", "Mã OTP không đúng.")
        self._used.add(flow_id)
        return VerifiedOtp(verified=True, phone=sent_to, challenge_id="c")

    async def policy(self) -> OtpPolicy:
        """The otp service's timing, as its ``policy`` answers it."""
        return OtpPolicy(code_digits=6, code_lifetime_seconds=300, resend_interval_seconds=60,
                         max_attempts=5)


class RecordingFailpoints(Failpoints):
    def __init__(self) -> None:
        super().__init__("")
        self.hits: list[str] = []

    def hit(self, name: str) -> None:
        self.hits.append(name)


def sequential_ids(prefix: str = "id") -> Any:
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"


class FakeCounters:
    """Windowed counters; single-threaded asyncio makes each method atomic, as in Mongo."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[int, datetime]] = {}

    async def hit(self, key: str, now: datetime, window: timedelta) -> Count:
        n, ends = self.rows.get(key, (0, now))
        if ends <= now:
            n, ends = 0, now + window
        self.rows[key] = (n + 1, ends)
        return Count(n + 1, ends)

    async def give_back(self, key: str, now: datetime) -> None:
        n, ends = self.rows.get(key, (0, now))
        if ends > now and n > 0:
            self.rows[key] = (n - 1, ends)


class FakeLocks:
    def __init__(self) -> None:
        self.rows: dict[str, datetime] = {}

    async def lock(self, key: str, until: datetime) -> None:
        self.rows[key] = max(until, self.rows.get(key, until))

    async def locked_until(self, key: str, now: datetime) -> datetime | None:
        until = self.rows.get(key)
        return until if until and until > now else None


class FakeCaptchas:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, datetime]] = {}

    async def add(self, captcha_id: str, answer_hash: str, expires_at: datetime) -> None:
        self.rows[captcha_id] = (answer_hash, expires_at)

    async def take(self, captcha_id: str, now: datetime) -> str | None:
        row = self.rows.pop(captcha_id, None)
        return row[0] if row and row[1] > now else None


class FakeGuardStore:
    def __init__(self) -> None:
        self.counters = FakeCounters()
        self.locks = FakeLocks()
        self.captchas = FakeCaptchas()


class FakeImages:
    """Draws nothing: the 'image' is the text, so a test can read the answer."""

    async def render(self, text: str) -> bytes:
        return text.encode()


class FakeSubscribers:
    def __init__(self) -> None:
        self.rows: dict[str, Subscriber] = {}

    async def find(self, phone: str) -> Subscriber | None:
        return self.rows.get(phone)


class FakeNotices:
    """The otp service's notices of sensitive changes, kept (phone or e-mail, change)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def security_change(self, phone: str, change: str, at: str, device: str) -> None:
        self.sent.append((phone, change))

    async def security_change_email(self, email: str, change: str, at: str,
                                    device: str) -> bool:
        self.sent.append((email, change))
        return True


async def fast_hash(password: str) -> str:
    return fast_password_hash(password)


# The service's settings in unit tests: its defaults, with the secrets spelled out.
TEST_SETTINGS = ProfileSettings(session_secret="test-session-secret",
                                flow_secret="test-flow-secret",
                                guard_secret="test-guard-secret")


def fake_ports(store: FakeStore, clock: Clock, *, otp: FakeOtp | None = None,
               pki: PkiService | None = None, subscribers: SubscriberRegistry | None = None,
               notices: NoticeSender | None = None, sounds: CaptchaSounds | None = None,
               activity_store: ActivityStore | None = None,
               failpoints: Failpoints | None = None,
               verify_password: PasswordVerifier = crypto.verify_password,
               new_id: Callable[[], str] | None = None) -> Ports:
    """Every port of the service as an in-memory fake (bootstrap builds on them)."""
    ports = Ports(uow=lambda: FakeUnitOfWork(store), store=store, guard_store=FakeGuardStore(),
                  activity_store=activity_store or FakeActivityStore(),
                  otp=otp or FakeOtp(), pki=pki, notices=notices or FakeNotices(),
                  subscribers=subscribers, images=FakeImages(), sounds=sounds, clock=clock,
                  failpoints=failpoints, verify_password=verify_password,
                  hash_password=fast_hash)
    return dataclasses.replace(ports, new_id=new_id) if new_id else ports


def fake_profile(store: FakeStore, clock: Clock, settings: ProfileSettings = TEST_SETTINGS,
                 **ports: Any) -> Profile:
    """Every use case, built by the service's bootstrap on fakes."""
    return bootstrap(settings, fake_ports(store, clock, **ports))


class Served:
    """Every endpoint as the service serves it (``entrypoints.wiring_for``): the request read
    into its contract, the answer's JSON, the service's errors raised. ``served.me_update(
    payload)`` is what a ``dvcid.profile.me_update`` request gets."""

    def __init__(self, profile: Profile) -> None:
        self._endpoints = wiring_for(profile).endpoints

    def __getattr__(self, endpoint: str) -> Endpoint:
        try:
            return self._endpoints[endpoint]
        except KeyError:
            raise AttributeError(endpoint) from None
