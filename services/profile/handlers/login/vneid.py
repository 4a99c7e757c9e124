"""Đăng nhập bằng VNeID (issue 15): the gateway is VNeID's relying party; it verified the ID
token and hands over its claims (``VneidClaims``). Here they meet the accounts:

- an account has this VNeID identity linked (method ``vneid``, its ``sub``): a level-2 session
  at once, method ``vneid``, in the login history (``LoginSucceeded``, the activity log);
- else an account of the same CCCD exists: ``link_required``; its owner logs in once by a
  method it already has, then ``link`` binds the identity to the session's account, only if
  that account is the CCCD's (``forbidden`` otherwise, nothing changes);
- else ``no_account``.

Not a ``LoginStrategy`` of ``LoginFlow``: there is no flow nor step here (VNeID ran them), and
the claims must never come through ``login_start``, which the HTTP API's logins reach.
"""

from __future__ import annotations

from collections.abc import Callable

from services.profile.domain.errors import AccountDisabled, Forbidden
from services.profile.domain.models import Account, Session
from services.profile.domain.ports import Store, UnitOfWork
from services.profile.domain.vneid import (
    VNEID_LEVEL,
    VNEID_METHOD,
    VneidIdentity,
    is_linked,
    link_method,
    linked_method,
    may_link,
)
from services.profile.handlers.changes import SensitiveChanges
from services.profile.handlers.common import ProfilePolicy, iso, new_id
from services.profile.handlers.login.strategy import LoginHistory
from services.profile.handlers.sessions.sessions import Sessions
from shared import crypto
from shared.clock import Clock
from shared.contracts.profile import (
    VneidClaims,
    VneidLink,
    VneidLinked,
    VneidLogin,
    VneidLoginAnswer,
)
from shared.events import AuthMethodAdded, new_event
from shared.logging import get_logger

log = get_logger(__name__)


def identity_of(claims: VneidClaims) -> VneidIdentity:
    return VneidIdentity(sub=claims.sub, cccd=claims.cccd, full_name=claims.full_name,
                         birth_date=claims.birth_date)


class VneidLogins:
    method = VNEID_METHOD
    level = VNEID_LEVEL

    def __init__(self, *, uow: Callable[[], UnitOfWork], store: Store, sessions: Sessions,
                 clock: Clock, policy: ProfilePolicy, history: LoginHistory,
                 new_id: Callable[[], str] = new_id,
                 new_token: Callable[[], str] = crypto.new_token) -> None:
        self._uow = uow
        self._store = store
        self._sessions = sessions
        self._clock = clock
        self._policy = policy
        self._history = history
        self._new_id = new_id
        self._new_token = new_token
        self._changes = SensitiveChanges(clock=clock)

    async def log_in(self, request: VneidLogin) -> VneidLoginAnswer:
        identity = identity_of(request.claims)
        async with self._uow() as uow:
            linked = await uow.vneid_accounts.find_by_sub(identity.sub)
        if linked is not None and is_linked(linked, identity) \
                and linked.index_key == identity.account_key:
            return await self._open_session(linked, request)
        if linked is not None:  # a sub bound to another CCCD's account: never used
            log.warning("vneid sub linked to an account of another identity",
                        account_id=linked.account_id)
        account = await self._store.accounts.find_by_key(identity.account_key)
        if account is None:
            return VneidLoginAnswer(status="no_account")
        if not may_link(account, identity):
            # The CCCD's account is linked to another VNeID identity (or is not a citizen's):
            # nothing is linked; its owner logs in by their methods.
            log.info("vneid identity not linkable", account_id=account.account_id,
                     linked=linked_method(account) is not None)
            raise Forbidden("Tài khoản của số định danh này không thể liên kết với VNeID.")
        return VneidLoginAnswer(status="link_required")

    async def link(self, request: VneidLink) -> VneidLinked:
        identity = identity_of(request.claims)
        session, account = await self._sessions.caller(request.session_token)
        method = linked_method(account)
        if method is not None and is_linked(account, identity):
            return VneidLinked(status="already_linked", method_id=method.method_id)
        if not may_link(account, identity):
            log.warning("vneid link refused: not the account of this identity",
                        account_id=account.account_id)
            raise Forbidden("Danh tính VNeID này không thuộc về tài khoản vừa đăng nhập.")
        now = self._clock()
        added = link_method(self._new_id(), identity, now)
        async with self._uow() as uow:
            if not await uow.vneid_accounts.add_link(account.account_id, account.index_key,
                                                     added):
                raise Forbidden("Tài khoản đã được liên kết với VNeID khác.")
            uow.emit(new_event(AuthMethodAdded(account_id=account.account_id,
                                               method_id=added.method_id, type=added.type),
                               correlation_id=session.session_id, occurred_at=now))
            # A new way in: told to the account's phones and e-mail, as any other.
            self._changes.notify(uow, account, session, "vneid_added", now)
            await uow.commit()
        log.info("vneid linked", account_id=account.account_id, method_id=added.method_id)
        return VneidLinked(status="linked", method_id=added.method_id)

    async def _open_session(self, account: Account, request: VneidLogin) -> VneidLoginAnswer:
        login_id = self._new_id()
        if account.disabled_at is not None:
            await self._history.failed(account_id=account.account_id, login_id=login_id,
                                       method=VNEID_METHOD, reason=AccountDisabled.code,
                                       ip=request.ip, user_agent=request.user_agent)
            raise AccountDisabled()
        token = self._new_token()
        now = self._clock()
        policy = self._policy.session
        session = Session(
            session_id=self._new_id(), token_hash=self._policy.session_hash(token),
            account_id=account.account_id, level=VNEID_LEVEL, method=VNEID_METHOD,
            login_id=login_id, created_at=now, last_seen_at=now,
            idle_expires_at=policy.idle_expiry(now), absolute_expires_at=now + policy.absolute,
            ip=request.ip, user_agent=request.user_agent)
        async with self._uow() as uow:
            await uow.sessions.add(session)
            await self._history.add_success(uow, account_id=account.account_id,
                                            login_id=login_id, method=VNEID_METHOD,
                                            level=VNEID_LEVEL, ip=request.ip,
                                            user_agent=request.user_agent, now=now)
            await uow.commit()
        log.info("login succeeded", account_id=account.account_id, method=VNEID_METHOD,
                 session_id=session.session_id)
        return VneidLoginAnswer(status="completed", session_token=token,
                                session_id=session.session_id,
                                expires_at=iso(session.expires_at), level=VNEID_LEVEL)
