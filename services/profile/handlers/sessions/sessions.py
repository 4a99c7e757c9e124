"""A session: who its token belongs to (``authenticate``, and ``caller`` for the other use
cases), the account it opens (``me``), and its end (``logout``); the idle touches gateways
answered from the session mirror and hand back in batches (``touch_many``, issue 13)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.profile.domain.account_management import identity_view
from services.profile.domain.errors import Unauthenticated
from services.profile.domain.models import Account, Session
from services.profile.domain.ports import SessionMirror, Store, UnitOfWork
from services.profile.handlers.common import ProfilePolicy, iso
from shared.clock import Clock
from shared.contracts.base import Empty
from shared.contracts.profile import (
    AccountView,
    ClaimsSubject,
    LiveSessionRef,
    SessionLiveness,
    SessionRef,
    SessionView,
    SubjectClaims,
)
from shared.contracts.session_mirror import SessionTouches
from shared.events import SessionRevoked, new_event
from shared.phones import mask_phone


class Sessions:
    def __init__(self, *, uow: Callable[[], UnitOfWork], store: Store, clock: Clock,
                 policy: ProfilePolicy, mirror: SessionMirror) -> None:
        self._uow = uow
        self._store = store
        self._clock = clock
        self._policy = policy
        self._mirror = mirror

    async def authenticate(self, request: SessionRef) -> SessionView:
        session = await self.session(request.session_token)
        return SessionView(account_id=session.account_id, session_id=session.session_id,
                           level=session.level, expires_at=iso(session.expires_at))

    async def me(self, request: SessionRef) -> AccountView:
        """The account of the session: the identity shaped per subject type, the contacts
        (the owner sees their own email in full), what the owner may edit."""
        _, account = await self.caller(request.session_token)
        view: dict[str, Any] = {
            "account_id": account.account_id,
            "subject_type": account.subject_type,
            "level": account.level,
            "identity": account.identity.to_dict(),
            "contacts": {
                "phones": [{"phone_id": p.phone_id, "phone_masked": mask_phone(p.phone),
                            "otp": p.otp} for p in account.phones],
                "email": account.email,
                "address": account.address,
            },
        } | _staff_view(account)
        return AccountView.model_validate(
            view | {"identity": identity_view(view), "editable": ["email", "address"]})

    async def oidc_claims(self, request: ClaimsSubject) -> SubjectClaims:
        """What the OpenID Provider may release about an account (it filters per scope): the
        identity shaped as ``me`` shapes it, the first OTP phone in E.164, the e-mail."""
        account = await self.account(request.account_id)
        phone = next((p.phone for p in account.phones if p.otp), None)
        view: dict[str, Any] = {"subject_type": account.subject_type,
                                "identity": account.identity.to_dict(),
                                "contacts": {"address": account.address}} | _staff_view(account)
        return SubjectClaims(account_id=account.account_id, subject_type=account.subject_type,
                             level=account.level, identity=identity_view(view), phone=phone,
                             email=account.email, organisation=view.get("organisation"))

    async def oidc_session_alive(self, request: LiveSessionRef) -> SessionLiveness:
        """Whether the account's session is still alive (not revoked, within its idle and
        absolute limits), for the OpenID Provider before it answers a refresh token: a session
        that idled out sends no SessionRevoked. A read: it never touches the session."""
        async with self._uow() as uow:
            live = await uow.managed_sessions.active(request.account_id, self._clock())
        return SessionLiveness(alive=any(s.session_id == request.session_id for s in live))

    async def logout(self, request: SessionRef) -> Empty:
        token_hash = self._policy.session_hash(request.session_token)
        now = self._clock()
        async with self._uow() as uow:
            session = await uow.sessions.revoke(token_hash, now)
            if session is None:
                return Empty()  # unknown or already ended: logging out twice is not an error
            uow.emit(new_event(
                SessionRevoked(account_id=session.account_id, session_id=session.session_id,
                               reason="logout"),
                correlation_id=session.login_id, occurred_at=now))
            await uow.commit()
        return Empty()

    async def session(self, token: str) -> Session:
        """The caller's live session (touched), for this service's other use cases; a token
        that names none is ``unauthenticated``."""
        token_hash = self._policy.session_hash(token)
        now = self._clock()
        # One atomic update whose filter holds every condition: an expired or revoked session
        # is never revived by a late touch.
        session = await self._store.sessions.touch(token_hash, now,
                                                   self._policy.session.idle_expiry(now))
        if session is None:
            raise Unauthenticated()
        # After the commit that made it (a login), on the first check: gateways answer the
        # next checks of this token from the mirror; a revoked marker is never overwritten.
        await self._mirror.opened(token, session)
        return session

    async def touch_many(self, request: SessionTouches) -> Empty:
        """The idle touches a gateway coalesced: the same rule as a check's touch, at the
        moment the gateway saw the session (never later than now), then the mirror."""
        now = self._clock()
        for touch in request.touches:
            seen_at = min(touch.seen_at, now)
            session = await self._store.sessions.touch_by_id(
                touch.session_id, seen_at, self._policy.session.idle_expiry(seen_at))
            if session is not None:
                await self._mirror.refreshed(session)
        return Empty()

    async def caller(self, token: str) -> tuple[Session, Account]:
        """The live session and its account: an account is visible to its owner only."""
        session = await self.session(token)
        return session, await self.account(session.account_id)

    async def account(self, account_id: str) -> Account:
        account = await self._store.accounts.get(account_id)
        if account is None:
            raise Unauthenticated()
        return account


def _staff_view(account: Account) -> dict[str, Any]:
    """Additive ``me`` fields of operator-made accounts: roles (agent) and organisation
    (the post office of an agent, the agency of an agency account)."""
    view: dict[str, Any] = {}
    if account.roles:
        view["roles"] = list(account.roles)
    if account.organisation:
        view["organisation"] = dict(account.organisation)
    return view
