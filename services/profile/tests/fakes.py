"""In-memory fakes of profile's ports: the rules run without servers (cosmicpython style)."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime
from types import TracebackType
from typing import Any

from argon2 import PasswordHasher

from services.profile.domain.errors import OtpRejected
from services.profile.domain.models import Account, LoginFlow, LoginRecord, Session
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
                a.id_number == account.id_number for a in self.rows.values()):
            raise ValueError("duplicate key")
        self.rows[account.account_id] = account

    async def get(self, account_id: str) -> Account | None:
        return self.rows.get(account_id)

    async def find_by_login_name(self, name: str) -> Account | None:
        for match in (lambda a: a.username == name, lambda a: a.id_number == name):
            found = next((a for a in self.rows.values() if match(a)), None)
            if found:
                return found
        return None


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


class FakeStore:
    def __init__(self) -> None:
        self.accounts = FakeAccounts()
        self.logins = FakeLoginFlows()
        self.sessions = FakeSessions()
        self.history = FakeHistory()
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

    async def verify(self, flow_id: str, purpose: str, code: str) -> dict[str, Any]:
        self.verified.append({"flow_id": flow_id, "purpose": purpose})
        if flow_id in self._used:
            raise OtpRejected("not_found", "Mã OTP đã được sử dụng.")
        if code != self.code:
            raise OtpRejected("otp_invalid", "Mã OTP không đúng.")
        self._used.add(flow_id)
        phone = next(i["phone"] for i in reversed(self.issued) if i["flow_id"] == flow_id)
        return {"verified": True, "phone": phone, "challenge_id": "c"}


class RecordingFailpoints(Failpoints):
    def __init__(self) -> None:
        super().__init__("")
        self.hits: list[str] = []

    def hit(self, name: str) -> None:
        self.hits.append(name)


def sequential_ids(prefix: str = "id") -> Any:
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"
