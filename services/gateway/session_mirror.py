"""The gateway's copy of the session mirror (issue 13): session checks answered locally.

Profile, the owner of sessions, writes the mirror (a NATS key-value bucket,
``shared/contracts/session_mirror.py``); every gateway watches it (initial load, then every
update) into local dicts and answers "who is this session?" from them:

- a hit on a live session answers at once; its use is remembered (last seen per session) and
  the touches are flushed in one batch RPC to profile every ``TOUCH_FLUSH_SECONDS``, which
  slides the idle expiry in Mongo and in the mirror (the rules stay profile's: 30 min idle,
  12 h absolute);
- a revoked entry is refused at once (profile writes revocations before it commits them);
- a miss, or an entry past its absolute or idle expiry by this gateway's knowledge, is asked of
  profile exactly as before the mirror (the RPC path), which also repairs the entry; so a
  refused session answers the same 401 problem as ever;
- ``GET /me`` keeps profile's answer per account under the account's version in the mirror
  (profile bumps it after every change of the account): the steady state makes no RPC.

Revocation reaches every gateway within the watch's delivery (milliseconds; the e2e test
``tests/test_session_mirror.py`` holds it to 1 s). For read-your-writes on one gateway, an
unsafe request (POST, PUT, PATCH, DELETE) answers only once this gateway has applied every
mirror write made before the answer (:class:`MirrorBarrier`): a logout, a password change or
an ended session is refused by the very next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from nats.aio.client import Client as NATS
from nats.js.kv import KV_DEL, KV_PURGE
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.problems import Problem
from shared.contracts import profile as PROFILE
from shared.contracts.session_mirror import (
    MAX_TOUCHES,
    SESSIONS_BUCKET,
    SESSIONS_TOUCH,
    TOUCH_FLUSH_SECONDS,
    MirroredAccount,
    MirroredSession,
    MirroredToken,
    SessionTouch,
    SessionTouches,
    token_key,
)
from shared.logging import get_logger
from shared.rpc import RpcClient
from shared.tasks import stop_task

log = get_logger(__name__)

# Profile's answer to a token that names no live session (its Unauthenticated error): a
# revoked session refused here answers the same problem, word for word.
UNAUTHENTICATED_DETAIL = ("Phiên đăng nhập không hợp lệ hoặc đã hết hạn, vui lòng đăng nhập "
                          "lại.")
# A cached ``me`` answer is kept at most this long even if no version bump came (a bump lost
# after a commit is the one way the cache could lag).
ME_CACHE_SECONDS = 60.0
ME_CACHE_MAX = 100_000
# How long an unsafe request waits for this gateway's watch to catch up before answering.
BARRIER_SECONDS = 1.0
RETRY_SECONDS = 1.0
# How often the watch is checked against the bucket's last sequence, and the connection.
LAG_CHECK_SECONDS = 5.0
CONNECTION_CHECK_SECONDS = 0.25
SESSIONS_STREAM = f"KV_{SESSIONS_BUCKET}"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _CachedMe:
    version: str | None
    at: float
    answer: dict[str, Any]


class SessionMirror:
    """The local dicts, the watch that fills them and the flush of coalesced touches."""

    def __init__(self, rpc: RpcClient, clock: Clock = _now) -> None:
        self._rpc = rpc
        self._clock = clock
        self.tokens: dict[str, str] = {}
        self.sessions: dict[str, MirroredSession] = {}
        self.accounts: dict[str, str] = {}
        self._seen: dict[str, datetime] = {}
        self._pending: dict[str, datetime] = {}
        self._me: dict[str, _CachedMe] = {}
        self._applied = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._stale = asyncio.Event()
        # True once the watch has loaded the bucket; until then (and whenever the watch is
        # lost) every check is asked of profile.
        self.ready = False
        self._tasks: list[asyncio.Task[None]] = []

    # -- the watch ---------------------------------------------------------------------------
    def start(self, nc: NATS) -> None:
        self._tasks = [asyncio.create_task(self._supervise(nc)),
                       asyncio.create_task(self._flusher())]

    async def stop(self) -> None:
        for task in self._tasks:
            await stop_task(task)
        with contextlib.suppress(Exception):
            await self.flush()

    async def _supervise(self, nc: NATS) -> None:
        """Runs the watch, and starts it over from an empty mirror whenever it may have
        stopped hearing the bucket (a mirror that silently lags would accept late)."""
        while True:
            watch = asyncio.create_task(self._watch(nc))
            try:
                await self._until_stale(nc)
            finally:
                await stop_task(watch)
            log.warning("session mirror watch restarted")
            self._forget_all()

    async def _until_stale(self, nc: NATS) -> None:
        """Returns as soon as the mirror may be behind the bucket: the connection to NATS
        dropped, a read-your-writes barrier was not reached, the watch is stuck behind the
        bucket for a whole check period, the bucket was recreated or cannot be asked."""
        behind: int | None = None
        since_check = 0.0
        self._stale.clear()
        while True:
            await asyncio.sleep(CONNECTION_CHECK_SECONDS)
            since_check += CONNECTION_CHECK_SECONDS
            if self._stale.is_set():
                return
            if not self.ready:
                behind = None
                continue  # the watch retries by itself (every check goes to profile)
            if not nc.is_connected:
                return
            if since_check < LAG_CHECK_SECONDS:
                continue
            since_check = 0.0
            try:
                last = (await nc.jetstream().stream_info(SESSIONS_STREAM)).state.last_seq
            except Exception:
                return
            if last < self._applied or (behind is not None and self._applied < behind):
                return
            behind = last if last > self._applied else None

    async def _watch(self, nc: NATS) -> None:
        """Opens the bucket (profile creates it) and applies every update, for good; while it
        cannot (no bucket yet, NATS away), every check goes to profile."""
        while True:
            try:
                bucket = await nc.jetstream().key_value(SESSIONS_BUCKET)
                watcher = await bucket.watchall()
                try:
                    initial = True
                    while True:
                        entry = await watcher.updates(timeout=None)
                        if entry is None:  # the initial load is complete
                            if initial:
                                self.ready, initial = True, False
                            continue
                        self.apply(entry.key, entry.value, entry.operation,
                                   entry.revision or 0)
                finally:
                    with contextlib.suppress(Exception):
                        await watcher.stop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.ready:
                    log.warning("session mirror watch lost", error=repr(exc))
                self._forget_all()
                await asyncio.sleep(RETRY_SECONDS)

    def apply(self, key: str, value: bytes | None, operation: str | None,
              revision: int) -> None:
        """One write of profile's (or its removal) into the local dicts."""
        kind, _, name = key.partition(".")
        removed = operation in (KV_DEL, KV_PURGE) or not value
        if kind == "t":
            if removed:
                self.tokens.pop(key, None)
            else:
                self.tokens[key] = MirroredToken.model_validate_json(value or b"").session_id
        elif kind == "s":
            if removed:
                self._drop_session(name)
            else:
                state = MirroredSession.model_validate_json(value or b"")
                self.sessions[name] = state
                if state.revoked:
                    self._seen.pop(name, None)
                    self._pending.pop(name, None)
        elif kind == "a":
            if removed:
                self.accounts.pop(name, None)
            else:
                self.accounts[name] = MirroredAccount.model_validate_json(value or b"").version
        self._applied = max(self._applied, revision)
        if self._waiters:
            waiting = []
            for target, future in self._waiters:
                if target <= self._applied:
                    if not future.done():
                        future.set_result(None)
                else:
                    waiting.append((target, future))
            self._waiters = waiting

    def _drop_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)
        self._seen.pop(session_id, None)
        self._pending.pop(session_id, None)

    def _forget_all(self) -> None:
        self.ready = False
        self._applied = 0
        self.tokens.clear()
        self.sessions.clear()
        self.accounts.clear()
        self._me.clear()
        self._seen.clear()

    # -- the checks --------------------------------------------------------------------------
    def check(self, token: str) -> MirroredSession | None:
        """The live session of ``token`` from the mirror; None when profile must be asked (a
        miss, or past an expiry as far as this gateway knows); a revoked one is refused."""
        if not self.ready:
            return None
        session_id = self.tokens.get(token_key(token))
        state = self.sessions.get(session_id) if session_id else None
        if state is None:
            return None
        if state.revoked:
            raise Problem("unauthenticated", UNAUTHENTICATED_DETAIL)
        now = self._clock()
        idle_expires_at = state.idle_expires_at
        seen = self._seen.get(state.session_id)
        if seen is not None:  # touched here, not yet (or just) flushed to profile
            idle_expires_at = max(idle_expires_at, seen + timedelta(seconds=state.idle_seconds))
        if not (now < state.expires_at and now < idle_expires_at):
            return None  # profile decides (and answers today's problem)
        self._seen[state.session_id] = now
        self._pending[state.session_id] = now
        return state

    async def me(self, token: str) -> dict[str, Any]:
        """``GET /me``: profile's answer, kept per account under the account's version."""
        state = self.check(token)
        version = self.accounts.get(state.account_id) if state else None
        if state is not None:
            cached = self._me.get(state.account_id)
            if (cached is not None and cached.version == version
                    and time.monotonic() - cached.at < ME_CACHE_SECONDS):
                return cached.answer
        answer = (await self._rpc.ask(PROFILE.ME,
                                      PROFILE.SessionRef(session_token=token))).wire()
        if state is not None:
            if len(self._me) >= ME_CACHE_MAX:
                self._me.clear()
            # Kept under the version read before asking: a change racing the answer bumps the
            # version, and the next check asks again.
            self._me[state.account_id] = _CachedMe(version, time.monotonic(), answer)
        return answer

    # -- idle touches ------------------------------------------------------------------------
    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(TOUCH_FLUSH_SECONDS)
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # kept for the next flush
                log.warning("session touches not flushed", error=repr(exc))

    async def flush(self) -> None:
        """Hands the coalesced touches to profile, in batches; a failed batch is kept."""
        while self._pending:
            batch = dict(list(self._pending.items())[:MAX_TOUCHES])
            for session_id in batch:
                del self._pending[session_id]
            try:
                await self._rpc.ask(SESSIONS_TOUCH, SessionTouches(touches=[
                    SessionTouch(session_id=sid, seen_at=at) for sid, at in batch.items()]))
            except Exception:
                for session_id, at in batch.items():
                    self._pending[session_id] = max(at, self._pending.get(session_id, at))
                raise

    # -- read-your-writes --------------------------------------------------------------------
    async def catch_up(self, nc: NATS) -> None:
        """Waits (bounded) until every write in the bucket so far is applied here."""
        if not self.ready:
            return
        try:
            info = await nc.jetstream().stream_info(SESSIONS_STREAM)
            target = info.state.last_seq
            if target <= self._applied:
                return
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append((target, future))
            await asyncio.wait_for(future, BARRIER_SECONDS)
        except Exception as exc:
            # Behind the bucket: start over (every check asked of profile until reloaded).
            log.warning("session mirror barrier not reached", error=repr(exc))
            self.ready = False
            self._stale.set()


class MirrorBarrier:
    """ASGI middleware: an unsafe request answers once this gateway's mirror holds every write
    made before the answer (a logout is refused by the next request, even here)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state

        async def send_after_catching_up(message: Message) -> None:
            mirror: SessionMirror | None = getattr(state, "session_mirror", None)
            if message["type"] == "http.response.start" and mirror is not None:
                await mirror.catch_up(state.nc)
            await send(message)

        await self.app(scope, receive, send_after_catching_up)


async def get_session_mirror(request: Request) -> SessionMirror:
    mirror: SessionMirror = request.app.state.session_mirror
    return mirror


Mirror = Annotated[SessionMirror, Depends(get_session_mirror)]
