"""What the signature login strategies (``usb.py``, ``sim.py``) share: their flow documents,
and the session a certificate opens (level 3).

pki validates the certificate (chain, validity, key usage, revocation) and the signature; here
the certificate finds its account: only the one it is bound to (fingerprint; at registration
or from the account's methods page) and whose holder it names. Any other valid certificate,
even one naming the holder, is ``certificate_not_registered``: nothing is created or bound.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.profile.domain.certificate_login import (
    SIGNATURE_LEVEL,
    CertificateLogin,
    CertificateProof,
    account_for,
)
from services.profile.domain.errors import AccountDisabled, CertificateNotRegistered, FlowState, NotFound
from services.profile.domain.models import Account, Session
from services.profile.domain.ports import UnitOfWork
from services.profile.handlers.common import ProfilePolicy, iso, new_id
from services.profile.handlers.login.strategy import LoginHistory
from shared import crypto
from shared.clock import Clock
from shared.contracts.profile import LoginStart
from shared.logging import get_logger

log = get_logger(__name__)


class CertificateLogins:
    def __init__(self, *, uow: Callable[[], UnitOfWork], clock: Clock,
                 policy: ProfilePolicy, history: LoginHistory,
                 new_id: Callable[[], str] = new_id,
                 new_token: Callable[[], str] = crypto.new_token) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._history = history
        self._new_id = new_id
        self._new_token = new_token

    def new_flow_id(self) -> str:
        return self._new_id()

    async def open(self, flow_id: str, command: LoginStart,
                   phone: str | None) -> dict[str, Any]:
        """The flow, once pki has its challenge or signing request; the answer's common part."""
        token = self._new_token()
        now = self._clock()
        flow = CertificateLogin(
            flow_id=flow_id, method=command.method, status="awaiting_signature",
            flow_token_hash=self._policy.flow_hash(token), created_at=now,
            expires_at=now + self._policy.login_flow_ttl, phone=phone, ip=command.ip,
            user_agent=command.user_agent)
        async with self._uow() as uow:
            await uow.certificate_logins.add(flow)
            await uow.commit()
        return {"id": flow.flow_id, "flow_token": token, "status": flow.status,
                "expires_at": iso(flow.expires_at)}

    async def find(self, flow_id: str) -> CertificateLogin | None:
        async with self._uow() as uow:
            return await uow.certificate_logins.get(flow_id)

    async def log_in(self, flow: CertificateLogin, proof: CertificateProof, ip: str | None,
                     user_agent: str | None) -> dict[str, Any]:
        """The account the certificate is bound to gets a level-3 session, or nobody does."""
        async with self._uow() as uow:
            bound = await uow.certificate_accounts.find_by_fingerprint(proof.fingerprint_sha256)
        account = account_for(bound, proof)
        if account is None:
            await self.fail(flow, CertificateNotRegistered.code)
            log.info("certificate bound to no account of its holder", login_id=flow.flow_id,
                     serial=proof.serial, bound_elsewhere=bound is not None)
            raise CertificateNotRegistered()
        if account.disabled_at is not None:  # an operator stopped this (staff) account
            await self.fail(flow, AccountDisabled.code)
            raise AccountDisabled()
        token = self._new_token()
        now = self._clock()
        session = self._open_session(flow, account, token, now, ip, user_agent)
        async with self._uow() as uow:
            # Conditional: of two requests finishing the same flow, one completes it.
            if not await uow.certificate_logins.complete(flow.flow_id, account.account_id,
                                                         session.session_id, now):
                raise FlowState()
            await uow.sessions.add(session)
            await self._history.add_success(uow, account_id=account.account_id,
                                            login_id=flow.flow_id, method=flow.method,
                                            level=session.level, ip=ip,
                                            user_agent=user_agent, now=now)
            await uow.commit()
        log.info("login succeeded", account_id=account.account_id, method=flow.method,
                 session_id=session.session_id)
        return {"id": flow.flow_id, "status": "completed", "method": flow.method,
                "session_token": token, "session_id": session.session_id,
                "expires_at": iso(session.expires_at), "level": session.level}

    def _open_session(self, flow: CertificateLogin, account: Account, token: str,
                      now: datetime, ip: str | None, user_agent: str | None) -> Session:
        policy = self._policy.session
        return Session(
            session_id=self._new_id(), token_hash=self._policy.session_hash(token),
            account_id=account.account_id, level=SIGNATURE_LEVEL, method=flow.method,
            login_id=flow.flow_id, created_at=now, last_seen_at=now,
            idle_expires_at=policy.idle_expiry(now), absolute_expires_at=now + policy.absolute,
            ip=ip, user_agent=user_agent)

    async def fail(self, flow: CertificateLogin, code: str) -> None:
        """The flow ends failed with ``code`` (once: a second caller changes nothing)."""
        now = self._clock()
        async with self._uow() as uow:
            if await uow.certificate_logins.fail(flow.flow_id, code, now):
                await self._history.add_failure(uow, account_id=None, login_id=flow.flow_id,
                                                method=flow.method, reason=code, ip=flow.ip,
                                                user_agent=flow.user_agent, now=now)
            await uow.commit()

    async def failed_attempt(self, flow: CertificateLogin, code: str, ip: str | None,
                             user_agent: str | None) -> None:
        """A refused signature that leaves the flow waiting (another certificate may follow)."""
        await self._history.failed(account_id=None, login_id=flow.flow_id, method=flow.method,
                                   reason=code, ip=ip, user_agent=user_agent)

    async def view(self, flow_id: str) -> dict[str, Any]:
        current = await self.find(flow_id)
        if current is None:
            raise NotFound()
        return current.view()
