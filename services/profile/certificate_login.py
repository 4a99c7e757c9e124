"""Use cases of the login with a digital signature (USB token, SIM signature): level 3.

USB: ``start`` asks pki for a challenge (flow id = login id, purpose login) and returns it; the
page has the token sign it and sends certificate + signature to ``submit_signature``. SIM:
``start`` asks pki to send the signing request to the phone and returns the verification
code; ``get`` polls pki until the SIM owner answered, and the poll that sees the approval
opens the session and returns it (once: a later read says ``completed`` with the session id).

pki validates the certificate (chain, validity, key usage, revocation) and the signature; here
the certificate finds its account: only the one it is bound to (fingerprint; at registration
or from the account's methods page) and whose holder it names. Any other valid certificate,
even one naming the holder, is ``certificate_not_registered``: nothing is created or bound.
A certificate pki refuses leaves the USB flow waiting (pki keeps the challenge): the person
may try another certificate.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from services.profile.domain.certificate_login import (
    PKI_PURPOSE,
    SIGNATURE_LEVEL,
    SIGNATURE_METHODS,
    SIM,
    SIM_ENDING_CODES,
    USB,
    CertificateLogin,
    CertificateProof,
    CertificateUnitOfWork,
    PkiService,
    StartCertificateLogin,
    SubmitSignature,
    account_for,
)
from services.profile.domain.commands import FlowRef, parse
from services.profile.domain.errors import (
    AccountDisabled,
    CertificateNotRegistered,
    FlowState,
    NotFound,
    PkiRejected,
    ValidationFailed,
)
from services.profile.domain.models import Account, LoginRecord, LoginResult, Session
from services.profile.domain.phone import vietnamese_mobile
from services.profile.handlers import ProfilePolicy
from shared import crypto
from shared.clock import Clock
from shared.events import LoginFailed, LoginSucceeded, new_event
from shared.logging import get_logger
from shared.phones import mask_phone

log = get_logger(__name__)

Endpoint = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def _new_id() -> str:
    return str(uuid.uuid4())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class CertificateLogins:
    def __init__(self, *, uow: Callable[[], CertificateUnitOfWork], pki: PkiService,
                 clock: Clock, policy: ProfilePolicy, new_id: Callable[[], str] = _new_id,
                 new_token: Callable[[], str] = crypto.new_token) -> None:
        self._uow = uow
        self._pki = pki
        self._clock = clock
        self._policy = policy
        self._new_id = new_id
        self._new_token = new_token

    # --- RPC endpoints ---------------------------------------------------------------------

    async def start(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(StartCertificateLogin, payload)
        flow_id = self._new_id()
        phone: str | None = None
        answer: dict[str, Any]
        if command.method == USB:
            challenge = await self._pki.challenge(flow_id, PKI_PURPOSE)
            answer = {"challenge": challenge["challenge"]}
        else:
            if not command.phone:
                raise ValidationFailed(fields=[{"name": "phone", "detail":
                                                "Vui lòng nhập số điện thoại của SIM ký số."}])
            phone = vietnamese_mobile(command.phone)
            started = await self._pki.sim_start(flow_id, PKI_PURPOSE, phone)
            answer = {"verification_code": started["verification_code"],
                      "phone_masked": mask_phone(phone)}
        token = self._new_token()
        now = self._clock()
        flow = CertificateLogin(
            flow_id=flow_id, method=command.method, status="awaiting_signature",
            flow_token_hash=self._flow_hash(token), created_at=now,
            expires_at=now + self._policy.login_flow_ttl, phone=phone, ip=command.ip,
            user_agent=command.user_agent)
        async with self._uow() as uow:
            await uow.certificate_logins.add(flow)
            await uow.commit()
        return {"id": flow.flow_id, "flow_token": token, "status": flow.status,
                "expires_at": _iso(flow.expires_at)} | answer

    async def get(self, payload: dict[str, Any]) -> dict[str, Any]:
        flow = await self._flow(parse(FlowRef, payload))
        now = self._clock()
        flow.ensure_readable(now)
        if flow.method == SIM and flow.status == "awaiting_signature":
            return await self._poll_sim(flow)
        return flow.view()

    async def submit_signature(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(SubmitSignature, payload)
        flow = await self._flow(command)
        flow.ensure_awaiting(USB, self._clock())
        ip = command.ip or flow.ip
        user_agent = command.user_agent or flow.user_agent
        try:
            proof = await self._pki.verify_signature(flow.flow_id, PKI_PURPOSE,
                                                     command.certificate, command.chain,
                                                     command.signature)
        except PkiRejected as refused:
            await self._record_failure(flow, None, refused.code, ip, user_agent)
            raise
        return await self._log_in(flow, proof, ip, user_agent)

    # --- steps -----------------------------------------------------------------------------

    async def _poll_sim(self, flow: CertificateLogin) -> dict[str, Any]:
        try:
            proof = await self._pki.sim_status(flow.flow_id, PKI_PURPOSE)
        except PkiRejected as refused:
            if refused.code not in SIM_ENDING_CODES:
                raise
            await self._fail(flow, refused.code)
            return await self._view(flow.flow_id)
        if proof is None:
            return flow.view()
        try:
            return await self._log_in(flow, proof, flow.ip, flow.user_agent)
        except (CertificateNotRegistered, FlowState):
            # Failed with that code, or completed by a concurrent poll: read it as it is.
            return await self._view(flow.flow_id)

    async def _log_in(self, flow: CertificateLogin, proof: CertificateProof, ip: str | None,
                      user_agent: str | None) -> dict[str, Any]:
        """The account the certificate is bound to gets a level-3 session, or nobody does."""
        async with self._uow() as uow:
            bound = await uow.certificate_accounts.find_by_fingerprint(proof.fingerprint_sha256)
        account = account_for(bound, proof)
        if account is None:
            await self._fail(flow, CertificateNotRegistered.code)
            log.info("certificate bound to no account of its holder", login_id=flow.flow_id,
                     serial=proof.serial, bound_elsewhere=bound is not None)
            raise CertificateNotRegistered()
        if account.disabled_at is not None:  # an operator stopped this (staff) account
            await self._fail(flow, AccountDisabled.code)
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
            await uow.history.add(self._record(flow, account.account_id, "success", None, ip,
                                               user_agent, now))
            uow.emit(new_event(
                LoginSucceeded(account_id=account.account_id, login_id=flow.flow_id,
                               method=flow.method, level=session.level, ip=ip,
                               user_agent=user_agent),
                correlation_id=flow.flow_id, occurred_at=now))
            await uow.commit()
        log.info("login succeeded", account_id=account.account_id, method=flow.method,
                 session_id=session.session_id)
        return {"id": flow.flow_id, "status": "completed", "method": flow.method,
                "session_token": token, "session_id": session.session_id,
                "expires_at": _iso(session.expires_at), "level": session.level}

    def _open_session(self, flow: CertificateLogin, account: Account, token: str,
                      now: datetime, ip: str | None, user_agent: str | None) -> Session:
        policy = self._policy.session
        return Session(
            session_id=self._new_id(),
            token_hash=crypto.keyed_hash(self._policy.session_secret, token),
            account_id=account.account_id, level=SIGNATURE_LEVEL, method=flow.method,
            login_id=flow.flow_id, created_at=now, last_seen_at=now,
            idle_expires_at=policy.idle_expiry(now), absolute_expires_at=now + policy.absolute,
            ip=ip, user_agent=user_agent)

    async def _fail(self, flow: CertificateLogin, code: str) -> None:
        now = self._clock()
        async with self._uow() as uow:
            if await uow.certificate_logins.fail(flow.flow_id, code, now):
                self._emit_failure(uow, flow, None, code, flow.ip, flow.user_agent, now)
                await uow.history.add(self._record(flow, None, "failure", code, flow.ip,
                                                   flow.user_agent, now))
            await uow.commit()

    async def _record_failure(self, flow: CertificateLogin, account_id: str | None, code: str,
                              ip: str | None, user_agent: str | None) -> None:
        now = self._clock()
        async with self._uow() as uow:
            await uow.history.add(self._record(flow, account_id, "failure", code, ip,
                                               user_agent, now))
            self._emit_failure(uow, flow, account_id, code, ip, user_agent, now)
            await uow.commit()
        log.info("login failed", login_id=flow.flow_id, method=flow.method, reason=code)

    @staticmethod
    def _emit_failure(uow: CertificateUnitOfWork, flow: CertificateLogin,
                      account_id: str | None, code: str, ip: str | None,
                      user_agent: str | None, now: datetime) -> None:
        uow.emit(new_event(
            LoginFailed(login_id=flow.flow_id, method=flow.method, reason=code,
                        account_id=account_id, ip=ip, user_agent=user_agent),
            correlation_id=flow.flow_id, occurred_at=now))

    def _record(self, flow: CertificateLogin, account_id: str | None, result: LoginResult,
                reason: str | None, ip: str | None, user_agent: str | None,
                now: datetime) -> LoginRecord:
        return LoginRecord(record_id=self._new_id(), account_id=account_id,
                           login_id=flow.flow_id, at=now, method=flow.method, result=result,
                           reason=reason, ip=ip, user_agent=user_agent)

    async def _view(self, flow_id: str) -> dict[str, Any]:
        async with self._uow() as uow:
            current = await uow.certificate_logins.get(flow_id)
        if current is None:
            raise NotFound()
        return current.view()

    async def _flow(self, ref: FlowRef) -> CertificateLogin:
        """The flow, only for the holder of its token: otherwise it does not exist."""
        async with self._uow() as uow:
            flow = await uow.certificate_logins.get(ref.id)
        if flow is None or not crypto.same(self._flow_hash(ref.flow_token),
                                           flow.flow_token_hash):
            raise NotFound()
        return flow

    def _flow_hash(self, token: str) -> str:
        return crypto.keyed_hash(self._policy.flow_secret, token)


class LoginEndpoints:
    """``login_start`` and ``login_get`` serve every login method: the signature logins live
    in their own collection, the password logins in ``login_flows``."""

    def __init__(self, certificate_logins: CertificateLogins, password_start: Endpoint,
                 password_get: Endpoint) -> None:
        self._certificate_logins = certificate_logins
        self._password_start = password_start
        self._password_get = password_get

    async def login_start(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("method") in SIGNATURE_METHODS:
            return await self._certificate_logins.start(payload)
        return await self._password_start(payload)

    async def login_get(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self._certificate_logins.get(payload)
        except NotFound:
            return await self._password_get(payload)
