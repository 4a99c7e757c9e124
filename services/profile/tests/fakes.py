"""In-memory fakes of profile's ports: the rules run without servers (cosmicpython style)."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from argon2 import PasswordHasher

from services.profile.domain.credentials import StagedCredential
from services.profile.domain.errors import OtpRejected
from services.profile.domain.guards import Count
from services.profile.domain.identity_keys import login_name_key
from services.profile.domain.models import (
    Account,
    LoginFlow,
    LoginRecord,
    PasswordReset,
    Session,
    Subscriber,
)
from shared.events import Envelope
from shared.failpoints import Failpoints
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


class FakeStore:
    def __init__(self) -> None:
        self.accounts = FakeAccounts()
        self.logins = FakeLoginFlows()
        self.sessions = FakeSessions()
        self.history = FakeHistory()
        self.resets = FakeResets()
        self.credentials = FakeCredentials()
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

    async def issue(self, flow_id: str, purpose: str, phone: str) -> dict[str, Any]:
        if self.issue_error:
            raise self.issue_error
        self.issued.append({"flow_id": flow_id, "purpose": purpose, "phone": phone})
        self._used.discard(flow_id)
        return {"challenge_id": f"c{len(self.issued)}", "phone_masked": "masked",
                "expires_at": "2026-01-01T00:05:00+00:00",
                "resend_available_at": "2026-01-01T00:01:00+00:00"}

    async def verify(self, flow_id: str, purpose: str, phone: str,
                     code: str) -> dict[str, Any]:
        self.verified.append({"flow_id": flow_id, "purpose": purpose, "phone": phone})
        if flow_id in self._used:
            raise OtpRejected("not_found", "Mã OTP đã được sử dụng.")
        # Like the otp service: the code is bound to the number of the flow's last send.
        sent_to = next((i["phone"] for i in reversed(self.issued) if i["flow_id"] == flow_id),
                       None)
        if code != self.code or sent_to != phone:
            raise OtpRejected("otp_invalid", "Mã OTP không đúng.")
        self._used.add(flow_id)
        return {"verified": True, "phone": sent_to, "challenge_id": "c"}


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
