"""The session mirror's writer (issue 13, adapters/session_mirror.py): a revocation reaches the
mirror before the commit that revokes, a live session after it, a revoked marker is never
overwritten, and the gateways' coalesced touches slide the idle expiry like a check does."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from services.profile.adapters.session_mirror import (
    MirroringManagedSessions,
    MirroringSessions,
    NatsSessionMirror,
)
from services.profile.bootstrap import bootstrap
from services.profile.domain.models import Session
from services.profile.tests.fakes import (
    TEST_SETTINGS,
    FakeOtp,
    FakeStore,
    FakeUnitOfWork,
    RecordingFailpoints,
    fake_ports,
)
from services.profile.tests.test_handlers import World, logged_in
from shared.clock import FrozenClock
from shared.contracts.session_mirror import (
    MirroredSession,
    MirroredToken,
    SessionTouch,
    SessionTouches,
    session_key,
    token_key,
)


class RecordingMirror:
    """A fake mirror that writes into the same log as the unit of work's commits."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def opened(self, token: str, session: Session) -> None:
        self.log.append(f"opened {session.session_id}")

    async def refreshed(self, session: Session) -> None:
        self.log.append(f"refreshed {session.session_id} {session.idle_expires_at.isoformat()}")

    async def revoked(self, sessions: Sequence[Session]) -> None:
        self.log.extend(f"revoked {s.session_id}" for s in sessions)

    async def accounts_changed(self, account_ids: Iterable[str]) -> None:
        self.log.extend(f"account {a}" for a in account_ids)

    def accounts_changed_later(self, account_ids: Iterable[str]) -> None:
        self.log.extend(f"account later {a}" for a in account_ids)


class LoggedUnitOfWork(FakeUnitOfWork):
    """The fake unit of work with the production wrapping (ProfileUnitOfWork's) and its
    commits logged."""

    def __init__(self, store: FakeStore, mirror: RecordingMirror) -> None:
        super().__init__(store)
        self._log = mirror.log
        self.sessions = MirroringSessions(store.sessions, mirror)  # type: ignore[assignment]
        self.managed_sessions = MirroringManagedSessions(  # type: ignore[assignment]
            store.managed_sessions, mirror)

    async def __aenter__(self) -> LoggedUnitOfWork:
        return self

    async def commit(self) -> None:
        self._log.append("commit")
        await super().commit()


def mirrored_world() -> tuple[World, list[str]]:
    store, clock, failpoints = FakeStore(), FrozenClock(), RecordingFailpoints()
    log: list[str] = []
    mirror = RecordingMirror(log)
    ports = fake_ports(store, clock, failpoints=failpoints)
    otp = FakeOtp()
    ports = dataclasses.replace(ports, otp=otp, uow=lambda: LoggedUnitOfWork(store, mirror),
                                mirror=mirror)
    world = World(bootstrap(TEST_SETTINGS, ports), store, otp, clock, failpoints)
    return world, log


async def test_a_session_is_mirrored_on_its_first_check_after_the_login_committed() -> None:
    world, log = mirrored_world()
    session = await logged_in(world)
    assert not any(line.startswith("opened") for line in log)
    await world.call("authenticate", {"session_token": session["session_token"]})
    assert log[-1] == f"opened {session['session_id']}"


async def test_a_logout_is_mirrored_before_its_commit() -> None:
    world, log = mirrored_world()
    session = await logged_in(world)
    log.clear()
    await world.call("logout", {"session_token": session["session_token"]})
    assert log == [f"revoked {session['session_id']}", "commit"]


async def test_ending_a_session_and_a_password_reset_are_mirrored_before_their_commit() -> None:
    world, log = mirrored_world()
    session = await logged_in(world)
    log.clear()
    await world.call("me_end_session", {"session_token": session["session_token"],
                                        "session_id": session["session_id"]})
    assert log[1:3] == [f"revoked {session['session_id']}", "commit"]  # after its own check
    # revoke_all (password reset, a disabled account) goes through the same wrapper.
    log.clear()
    uow = LoggedUnitOfWork(world.store, RecordingMirror(log))
    live = dataclasses.replace(world.store.sessions.rows[session["session_id"]],
                               session_id="s-2", token_hash="h-2", revoked_at=None)
    await world.store.sessions.add(live)
    async with uow:
        await uow.sessions.revoke_all(live.account_id, world.clock())
        await uow.commit()
    assert log == ["revoked s-2", "commit"]


async def test_coalesced_touches_slide_the_idle_expiry_and_refresh_the_mirror() -> None:
    world, log = mirrored_world()
    session = await logged_in(world)
    row = world.store.sessions.rows[session["session_id"]]
    world.clock.advance(minutes=20)
    seen = world.clock()
    # A gateway's clock ahead of profile's is cut to profile's now.
    await world.profile.sessions.touch_many(SessionTouches(touches=[
        SessionTouch(session_id=session["session_id"], seen_at=seen + timedelta(hours=1)),
        SessionTouch(session_id="unknown", seen_at=seen)]))
    expected = seen + POLICY_IDLE
    assert world.store.sessions.rows[row.session_id].idle_expires_at == expected
    assert log[-1] == f"refreshed {row.session_id} {expected.isoformat()}"


async def test_an_expired_session_is_not_revived_by_a_late_touch() -> None:
    world, log = mirrored_world()
    session = await logged_in(world)
    world.clock.advance(seconds=POLICY_IDLE.total_seconds() + 1)
    log.clear()
    await world.profile.sessions.touch_many(SessionTouches(touches=[
        SessionTouch(session_id=session["session_id"], seen_at=world.clock())]))
    assert log == []


POLICY_IDLE = timedelta(minutes=TEST_SETTINGS.session_idle_minutes)


# --- the NATS writer, on a fake bucket -------------------------------------------------------
@dataclasses.dataclass
class _Entry:
    value: bytes
    revision: int


class FakeBucket:
    """The key-value calls the writer makes, with JetStream's compare-and-set rules."""

    def __init__(self) -> None:
        self.rows: dict[str, _Entry] = {}
        self.seq = 0

    def _write(self, key: str, value: bytes) -> int:
        self.seq += 1
        self.rows[key] = _Entry(value, self.seq)
        return self.seq

    async def get(self, key: str) -> _Entry:
        if key not in self.rows:
            raise KeyNotFoundError
        return self.rows[key]

    async def put(self, key: str, value: bytes) -> int:
        return self._write(key, value)

    async def create(self, key: str, value: bytes) -> int:
        if key in self.rows:
            raise KeyWrongLastSequenceError
        return self._write(key, value)

    async def update(self, key: str, value: bytes, last: int) -> int:
        if key not in self.rows or self.rows[key].revision != last:
            raise KeyWrongLastSequenceError
        return self._write(key, value)

    def state(self, session_id: str) -> MirroredSession:
        return MirroredSession.model_validate_json(self.rows[session_key(session_id)].value)


def nats_mirror() -> tuple[NatsSessionMirror, FakeBucket]:
    mirror = NatsSessionMirror(None, idle=POLICY_IDLE,  # type: ignore[arg-type]
                               absolute=timedelta(hours=12))
    bucket = FakeBucket()
    mirror._bucket = bucket  # type: ignore[assignment]
    return mirror, bucket


def a_session(**changes: Any) -> Session:
    clock = FrozenClock()
    now = clock()
    session = Session(session_id="s-1", token_hash="keyed", account_id="acc-1", level=2,
                      method="password", login_id="l-1", created_at=now, last_seen_at=now,
                      idle_expires_at=now + POLICY_IDLE,
                      absolute_expires_at=now + timedelta(hours=12))
    return dataclasses.replace(session, **changes)


async def test_the_writer_keys_a_token_by_its_sha256_and_holds_no_personal_data() -> None:
    mirror, bucket = nats_mirror()
    await mirror.opened("the-token", a_session())
    pointer = MirroredToken.model_validate_json(bucket.rows[token_key("the-token")].value)
    assert pointer.session_id == "s-1"
    assert set(bucket.state("s-1").model_dump()) == {
        "account_id", "session_id", "level", "expires_at", "idle_expires_at", "idle_seconds",
        "revoked"}
    assert bucket.state("s-1").idle_seconds == POLICY_IDLE.total_seconds()


async def test_a_revoked_marker_is_never_overwritten_by_a_live_write() -> None:
    mirror, bucket = nats_mirror()
    session = a_session()
    await mirror.opened("the-token", session)
    await mirror.revoked([session])
    later = dataclasses.replace(session, idle_expires_at=session.idle_expires_at
                                + timedelta(minutes=5))
    await mirror.refreshed(later)
    await mirror.opened("the-token", later)
    assert bucket.state("s-1").revoked


async def test_a_revocation_that_cannot_be_written_raises() -> None:
    mirror, _ = nats_mirror()

    class Down(FakeBucket):
        async def put(self, key: str, value: bytes) -> int:
            raise ConnectionError("nats away")

    mirror._bucket = Down()  # type: ignore[assignment]
    with pytest.raises(ConnectionError):
        await mirror.revoked([a_session()])
    # A live write that fails is only a miss for the gateways: never an error.
    await mirror.opened("the-token", a_session())
