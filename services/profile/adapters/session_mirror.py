"""The session mirror's writer (issue 13): profile, the owner of sessions, publishes in a NATS
key-value bucket what a gateway needs to answer a session check alone
(``shared/contracts/session_mirror.py`` has the keys and values).

The order of writes is what keeps the mirror safe:

- a revocation is written *before* the Mongo commit that revokes (:class:`MirroringSessions`
  and :class:`MirroringManagedSessions` write it as soon as the repository has revoked inside the
  transaction): a crash between the two leaves a session refused early, never one accepted late.
  A failed revocation write raises, so the transaction is not committed (fail closed);
- a live session is written after its commit, on the first check of its token
  (``Sessions.session``) and on every touch; a lost write only means a miss, which a gateway
  answers by asking profile (the RPC path), which writes the entry again;
- a live write never overwrites a revoked marker (compare-and-set on the entry's revision), so
  a touch racing a logout cannot revive the session in the mirror;
- an account's version is bumped after the commit of anything that changed it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from nats.aio.client import Client as NATS
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from services.profile.domain.models import Session
from services.profile.domain.ports import ManagedSessions, SessionMirror, SessionRepository
from shared.bus import key_value_bucket
from shared.contracts.session_mirror import (
    SESSIONS_BUCKET,
    MirroredAccount,
    MirroredSession,
    MirroredToken,
    account_key,
    session_key,
    token_key,
)
from shared.logging import get_logger

log = get_logger(__name__)

# A live write that keeps losing its compare-and-set to other writers gives up: the entry is
# then someone else's newer write (or a revoked marker), both fine to leave.
_CAS_TRIES = 3
# A session this process mirrored this recently is not written again on its next checks: the
# mirror's idle expiry then lags by at most this, which costs a gateway one more question to
# profile near the idle limit, never a wrong answer (the gateways' touches refresh it anyway).
REWRITE_AFTER_SECONDS = 30.0
_REMEMBERED_MAX = 100_000


def mirrored_state(session: Session, idle: timedelta, *, revoked: bool = False) -> MirroredSession:
    return MirroredSession(account_id=session.account_id, session_id=session.session_id,
                           level=session.level, expires_at=session.absolute_expires_at,
                           idle_expires_at=session.idle_expires_at,
                           idle_seconds=idle.total_seconds(), revoked=revoked)


class NatsSessionMirror(SessionMirror):
    """The bucket, opened (or created, profile owns it) on first use."""

    def __init__(self, nc: NATS, *, idle: timedelta, absolute: timedelta,
                 replicas: int = 1) -> None:
        self._nc = nc
        self._idle = idle
        self._absolute = absolute
        self._replicas = replicas
        self._bucket: KeyValue | None = None
        self._lock = asyncio.Lock()
        self._written: dict[str, float] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def bucket(self) -> KeyValue:
        async with self._lock:
            if self._bucket is None:
                # Nothing outlives a session: an entry lives at most the absolute lifetime
                # after its last write (a revoked marker at least as long as its session).
                self._bucket = await key_value_bucket(self._nc.jetstream(), KeyValueConfig(
                    bucket=SESSIONS_BUCKET, history=1, direct=False,
                    ttl=self._absolute.total_seconds(), replicas=self._replicas,
                    description="Session mirror: written by profile, read by gateways"))
            return self._bucket

    async def opened(self, token: str, session: Session) -> None:
        written = self._written.get(session.session_id)
        if written is not None and time.monotonic() - written < REWRITE_AFTER_SECONDS:
            return
        try:
            await self._write_live(session)
            await (await self.bucket()).put(
                token_key(token), MirroredToken(session_id=session.session_id)
                .model_dump_json().encode())
            if len(self._written) >= _REMEMBERED_MAX:
                self._written.clear()
            self._written[session.session_id] = time.monotonic()
        except Exception as exc:  # a miss is answered by the RPC path: never fail a check
            log.warning("session mirror write failed", session_id=session.session_id,
                        error=repr(exc))

    async def refreshed(self, session: Session) -> None:
        try:
            await self._write_live(session)
        except Exception as exc:
            log.warning("session mirror write failed", session_id=session.session_id,
                        error=repr(exc))

    async def revoked(self, sessions: Sequence[Session]) -> None:
        # No try: a revocation that cannot be mirrored must not be committed either.
        bucket = await self.bucket()
        for session in sessions:
            state = mirrored_state(session, self._idle, revoked=True)
            await bucket.put(session_key(session.session_id), state.model_dump_json().encode())

    async def accounts_changed(self, account_ids: Iterable[str]) -> None:
        try:
            bucket = await self.bucket()
            for account_id in account_ids:
                await bucket.put(account_key(account_id),
                                 MirroredAccount(version=uuid.uuid4().hex)
                                 .model_dump_json().encode())
        except Exception as exc:  # gateways keep a cached ``me`` a bounded time only
            log.warning("session mirror account bump failed", error=repr(exc))

    def accounts_changed_later(self, account_ids: Iterable[str]) -> None:
        task = asyncio.get_running_loop().create_task(self.accounts_changed(list(account_ids)))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _write_live(self, session: Session) -> None:
        bucket = await self.bucket()
        key = session_key(session.session_id)
        value = mirrored_state(session, self._idle).model_dump_json().encode()
        for _ in range(_CAS_TRIES):
            try:
                entry = await bucket.get(key)
            except KeyNotFoundError:
                try:
                    await bucket.create(key, value)
                    return
                except KeyWrongLastSequenceError:
                    continue  # written in between: read it again
            if entry.value and MirroredSession.model_validate_json(entry.value).revoked:
                return  # a revoked marker stands for good
            try:
                await bucket.update(key, value, last=entry.revision)
                return
            except KeyWrongLastSequenceError:
                continue


class NoSessionMirror(SessionMirror):
    """No mirror (unit tests, tools): every gateway check goes to profile."""

    async def opened(self, token: str, session: Session) -> None:
        return None

    async def refreshed(self, session: Session) -> None:
        return None

    async def revoked(self, sessions: Sequence[Session]) -> None:
        return None

    async def accounts_changed(self, account_ids: Iterable[str]) -> None:
        return None

    def accounts_changed_later(self, account_ids: Iterable[str]) -> None:
        return None


class MirroringSessions:
    """A session repository whose revocations reach the mirror before the transaction
    commits (it is bound to the unit of work's transaction)."""

    def __init__(self, inner: SessionRepository, mirror: SessionMirror) -> None:
        self._inner = inner
        self._mirror = mirror

    async def add(self, session: Session) -> None:
        await self._inner.add(session)

    async def touch(self, token_hash: str, now: datetime,
                    idle_expires_at: datetime) -> Session | None:
        return await self._inner.touch(token_hash, now, idle_expires_at)

    async def touch_by_id(self, session_id: str, now: datetime,
                          idle_expires_at: datetime) -> Session | None:
        return await self._inner.touch_by_id(session_id, now, idle_expires_at)

    async def revoke(self, token_hash: str, now: datetime) -> Session | None:
        session = await self._inner.revoke(token_hash, now)
        if session is not None:
            await self._mirror.revoked([session])
        return session

    async def revoke_all(self, account_id: str, now: datetime) -> list[Session]:
        ended = await self._inner.revoke_all(account_id, now)
        await self._mirror.revoked(ended)
        return ended


class MirroringManagedSessions:
    """The owner's view of their sessions, with the same rule: revoked in the mirror first."""

    def __init__(self, inner: ManagedSessions, mirror: SessionMirror) -> None:
        self._inner = inner
        self._mirror = mirror

    async def active(self, account_id: str, now: datetime) -> list[Session]:
        return await self._inner.active(account_id, now)

    async def revoke_one(self, account_id: str, session_id: str,
                         now: datetime) -> Session | None:
        session = await self._inner.revoke_one(account_id, session_id, now)
        if session is not None:
            await self._mirror.revoked([session])
        return session

    async def revoke_others(self, account_id: str, keep_session_id: str,
                            now: datetime) -> list[Session]:
        ended = await self._inner.revoke_others(account_id, keep_session_id, now)
        await self._mirror.revoked(ended)
        return ended

    async def mark_reauthenticated(self, session_id: str, at: datetime, level: int) -> bool:
        return await self._inner.mark_reauthenticated(session_id, at, level)
