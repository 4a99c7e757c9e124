"""Use cases of the step-up ("Xác thực lại", ``/me/reauthentication``): a session proves a
factor of its account again, and the session records when and at which level
(``domain/step_up.py`` says which changes need it and how strong).

- password: the password (counted by the login guard against the account's login name, as a
  login attempt: a session holder cannot guess it freely) then an OTP to the account's first
  OTP phone → level 2.
- usb: a challenge from pki, signed by a token whose certificate is BOUND to the account
  (fingerprint of one of its usb methods) → level 3.
- sim: a signing request to the SIM of a SIM method bound to the account; the poll that sees
  the approval completes it → level 3.

usb and sim are the login's own proofs (handlers/login/usb.py, sim.py), with the step-up's
purpose at pki.

A step-up flow belongs to the session that started it: any other session (of the same
account or not) is told ``not_found``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from services.profile.domain.certificate_login import SIM, USB, CertificateProof, PkiService
from services.profile.domain.errors import (
    FlowState,
    Forbidden,
    InvalidCredentials,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from services.profile.domain.models import Account, Session
from services.profile.domain.ports import OtpService, UnitOfWork
from services.profile.domain.step_up import (
    STEP_UP_OTP_PURPOSE,
    STEP_UP_PKI_PURPOSE,
    STEP_UP_VALIDITY,
    StepUp,
    step_up_view,
)
from services.profile.handlers.common import PasswordVerifier
from services.profile.handlers.guard import LoginGuard
from services.profile.handlers.login.sim import SimEnded, SimProof
from services.profile.handlers.login.usb import UsbProof
from services.profile.handlers.sessions.sessions import Sessions
from shared import crypto
from shared.clock import Clock
from shared.contracts.profile import (
    StepUpOtp,
    StepUpRef,
    StepUpSignature,
    StepUpStart,
    StepUpView,
)
from shared.logging import get_logger

log = get_logger(__name__)

_NOT_BOUND = ("Chứng thư số này chưa được gắn với tài khoản nên không dùng để xác thực lại "
              "được. Vui lòng dùng chữ ký số đã có trong mục «Các phương thức xác thực».")


class StepUps:
    def __init__(self, *, uow: Callable[[], UnitOfWork], sessions: Sessions,
                 otp: OtpService, pki: PkiService | None, clock: Clock,
                 guard: LoginGuard, verify_password: PasswordVerifier = crypto.verify_password,
                 validity: timedelta = STEP_UP_VALIDITY,
                 flow_ttl: timedelta = timedelta(minutes=5),
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self._uow = uow
        self._sessions = sessions
        self._otp = otp
        # The same proofs as the signature logins, with the step-up's purpose at pki.
        self._usb = UsbProof(pki)
        self._sim = SimProof(pki)
        self._clock = clock
        self._guard = guard
        self._verify_password = verify_password
        self._validity = validity
        self._flow_ttl = flow_ttl
        self._new_id = new_id

    async def start(self, command: StepUpStart) -> StepUpView:
        session, account = await self._sessions.caller(command.session_token)
        if command.method == "password":
            return await self._start_password(command, session, account)
        if not any(m.type == command.method for m in account.auth_methods):
            raise Forbidden("Tài khoản chưa có phương thức ký số này để xác thực lại.")
        flow = self._flow(session, command.method, "awaiting_signature")
        proof = self._usb if command.method == USB else self._sim
        flow.phone, answer = await proof.begin(flow.flow_id, STEP_UP_PKI_PURPOSE, command.phone)
        await self._add(flow)
        return StepUpView.model_validate(flow.view() | answer)

    async def get(self, command: StepUpRef) -> StepUpView:
        """Reads a step-up; for a SIM one, asks pki whether the SIM's owner answered."""
        session, account = await self._sessions.caller(command.session_token)
        flow = await self._own(command, session)
        if flow.method != SIM or flow.status != "awaiting_signature":
            return await self._view(flow.flow_id, session)
        flow.ensure("awaiting_signature", self._clock())
        try:
            proof = await self._sim.poll(flow.flow_id, STEP_UP_PKI_PURPOSE)
        except SimEnded as ended:
            await self._fail(flow, ended.code)
            return await self._view(flow.flow_id, session)
        if proof is not None:
            await self._complete_with(proof, flow, session, account)
        return await self._view(flow.flow_id, session)

    async def submit_otp(self, command: StepUpOtp) -> StepUpView:
        session, _ = await self._sessions.caller(command.session_token)
        flow = await self._own(command, session)
        flow.ensure("otp_sent", self._clock())
        assert flow.phone is not None
        await self._otp.verify(flow.flow_id, STEP_UP_OTP_PURPOSE, flow.phone,
                               command.code.strip())
        return await self._complete(flow, session)

    async def submit_signature(self, command: StepUpSignature) -> StepUpView:
        session, account = await self._sessions.caller(command.session_token)
        flow = await self._own(command, session)
        flow.ensure("awaiting_signature", self._clock())
        if flow.method != USB:
            raise FlowState()
        proof = await self._usb.verify(flow.flow_id, STEP_UP_PKI_PURPOSE, command)
        return await self._complete_with(proof, flow, session, account)

    # --- steps -----------------------------------------------------------------------------

    async def _start_password(self, command: StepUpStart, session: Session,
                              account: Account) -> StepUpView:
        if not command.password:
            raise ValidationFailed(fields=[{"name": "password",
                                            "detail": "Vui lòng nhập mật khẩu."}])
        phone = account.login_phone()  # NoOtpPhone when there is none
        admission = await self._guard.admit(account.username or account.id_number,
                                            command.ip, command.captcha, account.account_id)
        if not account.password_hash or not await self._verify_password(
                account.password_hash, command.password):
            await self._guard.failed(admission)
            raise InvalidCredentials("Mật khẩu không đúng.", fields=[
                {"name": "password", "detail": "Mật khẩu không đúng."}])
        await self._guard.succeeded(admission)
        await self._guard.allow_otp_send(command.ip)
        flow = self._flow(session, "password", "otp_sent")
        flow.phone = phone.phone
        await self._add(flow)
        sent = await self._otp.issue(flow.flow_id, STEP_UP_OTP_PURPOSE, phone.phone)
        return StepUpView.model_validate(
            flow.view() | {"resend_available_at": sent.resend_available_at})

    async def _complete_with(self, proof: CertificateProof, flow: StepUp, session: Session,
                             account: Account) -> StepUpView:
        """A signature counts only from a certificate bound to the account as that method."""
        # ... and still naming the holder (typed identity key): a binding made before keys
        # carried their type (a passport of the same digits, an employee's) is not trusted.
        bound = proof.names_holder_of(account) and any(
            m.type == flow.method
            and m.details.get("fingerprint_sha256") == proof.fingerprint_sha256
            for m in account.auth_methods)
        if not bound:
            await self._fail(flow, Forbidden.code)
            log.info("step-up with an unbound certificate refused",
                     account_id=account.account_id, serial=proof.serial)
            raise Forbidden(_NOT_BOUND)
        return await self._complete(flow, session)

    async def _complete(self, flow: StepUp, session: Session) -> StepUpView:
        now = self._clock()
        async with self._uow() as uow:
            if not await uow.step_ups.finish(flow.flow_id, flow.status, "completed", now):
                raise FlowState()
            if not await uow.managed_sessions.mark_reauthenticated(session.session_id, now,
                                                                   flow.level()):
                raise Unauthenticated()
            await uow.commit()
        log.info("session stepped up", account_id=session.account_id,
                 session_id=session.session_id, method=flow.method, step_up_level=flow.level())
        session.reauthenticated_at, session.reauthenticated_level = now, flow.level()
        return StepUpView.model_validate(step_up_view(session, self._validity))

    def _flow(self, session: Session, method: str, status: Any) -> StepUp:
        now = self._clock()
        return StepUp(flow_id=self._new_id(), account_id=session.account_id,
                      session_id=session.session_id, method=method, status=status,
                      created_at=now, expires_at=now + self._flow_ttl)

    async def _add(self, flow: StepUp) -> None:
        async with self._uow() as uow:
            await uow.step_ups.add(flow)
            await uow.commit()

    async def _fail(self, flow: StepUp, code: str) -> None:
        async with self._uow() as uow:
            await uow.step_ups.finish(flow.flow_id, flow.status, "failed", self._clock(),
                                      code=code)
            await uow.commit()

    async def _own(self, ref: StepUpRef, session: Session) -> StepUp:
        async with self._uow() as uow:
            flow = await uow.step_ups.get(ref.id)
        if flow is None or flow.session_id != session.session_id:
            raise NotFound("Không tìm thấy lượt xác thực lại này.")
        return flow

    async def _view(self, flow_id: str, session: Session) -> StepUpView:
        async with self._uow() as uow:
            flow = await uow.step_ups.get(flow_id)
        assert flow is not None
        view = flow.view()
        if flow.status == "completed" and session.reauthenticated_at is not None:
            view |= step_up_view(session, self._validity)
        return StepUpView.model_validate(view)
