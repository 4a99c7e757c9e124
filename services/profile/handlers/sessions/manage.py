"""The account's sessions and logins, seen by their owner: the login history, the live
sessions, and ending one of them (ending another than one's own needs a step-up, and the
owner's phones are told)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from services.profile.domain.account_management import (
    iso,
    login_view,
    session_view,
)
from services.profile.domain.errors import NotFound
from services.profile.domain.ports import Store, UnitOfWork
from services.profile.domain.step_up import STEP_UP_VALIDITY
from services.profile.handlers.changes import SensitiveChanges
from services.profile.handlers.sessions.sessions import Sessions
from shared.clock import Clock
from shared.contracts.base import Empty
from shared.contracts.profile import (
    LoginHistory,
    LoginHistoryPage,
    SessionList,
    SessionRef,
    SessionTarget,
)
from shared.events import SessionRevoked, new_event
from shared.logging import get_logger

log = get_logger(__name__)

_NO_SESSION = "Không tìm thấy phiên đăng nhập này."


class SessionManagement:
    def __init__(self, *, uow: Callable[[], UnitOfWork], store: Store,
                 sessions: Sessions, clock: Clock,
                 step_up_validity: timedelta = STEP_UP_VALIDITY) -> None:
        self._uow = uow
        self._store = store
        self._sessions = sessions
        self._clock = clock
        self._changes = SensitiveChanges(clock=clock, step_up_validity=step_up_validity)

    async def me_logins(self, command: LoginHistoryPage) -> LoginHistory:
        session = await self._sessions.session(command.session_token)
        records = await self._store.history.recent(session.account_id, command.limit,
                                                   command.before)
        page: dict[str, Any] = {"items": [login_view(r) for r in records]}
        if len(records) == command.limit:
            page["next_before"] = iso(records[-1].at)
        return LoginHistory.model_validate(page)

    async def me_sessions(self, request: SessionRef) -> SessionList:
        session = await self._sessions.session(request.session_token)
        async with self._uow() as uow:
            live = await uow.managed_sessions.active(session.account_id, self._clock())
        return SessionList.model_validate(
            {"items": [session_view(s, session.session_id) for s in live]})

    async def me_end_session(self, command: SessionTarget) -> Empty:
        session, account = await self._sessions.caller(command.session_token)
        now = self._clock()
        other = command.session_id != session.session_id
        if other:
            # Ending one's own session is a logout; ending another needs a step-up (a thief
            # must not throw the owner out), after the id is known to be the account's.
            async with self._uow() as uow:
                live = await uow.managed_sessions.active(session.account_id, now)
            if all(s.session_id != command.session_id for s in live):
                raise NotFound(_NO_SESSION)
            self._changes.ensure_step_up(session, account)
        async with self._uow() as uow:
            ended = await uow.managed_sessions.revoke_one(session.account_id,
                                                          command.session_id, now)
            if ended is None:
                raise NotFound(_NO_SESSION)
            uow.emit(new_event(SessionRevoked(account_id=ended.account_id,
                                              session_id=ended.session_id,
                                              reason="ended_by_owner"),
                               correlation_id=session.session_id, occurred_at=now))
            if other:
                self._changes.notify(uow, account, session, "session_ended", now)
            await uow.commit()
        log.info("session ended by its owner", account_id=session.account_id,
                 session_id=ended.session_id)
        return Empty()
