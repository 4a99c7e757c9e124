"""The account's settings (API.md "The account", ``/me``): contacts (identity and contacts
are read through ``me``, handlers/sessions), authentication methods (list, add an SMS phone /
a USB token / a SIM signature, remove) and the password change.

Every endpoint takes the caller's ``session_token``: an account is visible to its owner only;
an id (method, flow) of another account is ``not_found``, as an unknown one. Sensitive
changes need a step-up of this session within the last 5 minutes, at least as strong as what
changes, and each is told to the phones the account had before it (``changes.py``). A USB
token or a SIM is added with the same proof as it logs in with (handlers/login/usb.py,
sim.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.profile.domain.account_management import (
    ADD_METHOD_PURPOSE,
    EDITABLE_FIELDS,
    MAX_PHONES,
    SMS,
    MethodFlow,
    checked_changes,
    ensure_removable,
    last_used_by_type,
    method_view,
)
from services.profile.domain.certificate_login import (
    SIGNATURE_LEVEL,
    SIM,
    USB,
    CertificateProof,
    PkiService,
)
from services.profile.domain.errors import (
    FlowState,
    Forbidden,
    InvalidCredentials,
    NotFound,
    PhoneLimit,
    ValidationFailed,
)
from services.profile.domain.models import Account, AuthMethod, Session
from services.profile.domain.phone import vietnamese_mobile
from services.profile.domain.ports import OtpService, Store, UnitOfWork
from services.profile.domain.step_up import STEP_UP_VALIDITY, method_level
from services.profile.handlers.changes import SensitiveChanges
from services.profile.handlers.common import (
    PasswordHasher,
    PasswordVerifier,
    ProfilePolicy,
    new_id,
)
from services.profile.handlers.credentials import NewPasswords
from services.profile.handlers.guard import LoginGuard
from services.profile.handlers.login.sim import SimEnded, SimProof
from services.profile.handlers.login.usb import UsbProof
from services.profile.handlers.sessions.sessions import Sessions
from shared import crypto
from shared.clock import Clock
from shared.contracts.base import Empty
from shared.contracts.profile import (
    AccountView,
    AuthMethodList,
    AuthMethodView,
    MethodFlowRef,
    MethodFlowView,
    MethodOtp,
    MethodSignature,
    MethodTarget,
    NewMethod,
    PasswordChange,
    SessionRef,
    UpdateContacts,
)
from shared.events import (
    AuthMethodAdded,
    AuthMethodRemoved,
    PasswordChanged,
    ProfileUpdated,
    SessionRevoked,
    new_event,
)
from shared.logging import get_logger

log = get_logger(__name__)

# Enough recent logins to tell when each kind of method was last used.
_LAST_USED_SCAN = 200
_NO_METHOD = "Không tìm thấy phương thức xác thực này."


class AccountSettings:
    def __init__(self, *, uow: Callable[[], UnitOfWork], store: Store,
                 sessions: Sessions, otp: OtpService, pki: PkiService | None, clock: Clock,
                 policy: ProfilePolicy, guard: LoginGuard,
                 step_up_validity: timedelta = STEP_UP_VALIDITY,
                 method_flow_ttl: timedelta = timedelta(minutes=10),
                 verify_password: PasswordVerifier = crypto.verify_password,
                 hash_password: PasswordHasher = crypto.hash_password,
                 new_id: Callable[[], str] = new_id,
                 new_token: Callable[[], str] = crypto.new_token) -> None:
        self._uow = uow
        self._store = store
        self._sessions = sessions
        self._otp = otp
        # The same proofs as the signature logins, with the methods page's purpose at pki.
        self._usb = UsbProof(pki)
        self._sim = SimProof(pki)
        self._clock = clock
        self._policy = policy
        self._guard = guard
        self._changes = SensitiveChanges(clock=clock, step_up_validity=step_up_validity)
        self._method_flow_ttl = method_flow_ttl
        self._verify_password = verify_password
        self._passwords = NewPasswords(hash_password)
        self._new_id = new_id
        self._new_token = new_token

    # --- identity and contacts -------------------------------------------------------------

    async def me_update(self, command: UpdateContacts) -> AccountView:
        session, account = await self._sessions.caller(command.session_token)
        sent = {name: getattr(command, name) for name in EDITABLE_FIELDS
                if name in command.model_fields_set}
        changes = checked_changes(sent, list(command.model_extra or {}), account)
        email_changes = "email" in changes and changes["email"] != account.email
        if email_changes:
            # The e-mail may receive notices about the account: changing it is sensitive.
            self._changes.ensure_step_up(session, account)
        now = self._clock()
        async with self._uow() as uow:
            if email_changes:
                # Told to the old address (kept under the notice's event id), not the new one.
                told = self._changes.notify(uow, account, session, "email_changed", now)
                if account.email:
                    await uow.managed_accounts.keep_former_email(account.account_id,
                                                                 account.email, told.id, now)
            await uow.managed_accounts.update_contacts(account.account_id, changes)
            uow.emit(new_event(ProfileUpdated(account_id=account.account_id,
                                              fields=sorted(changes)),
                               correlation_id=session.session_id, occurred_at=now))
            await uow.commit()
        log.info("profile updated", account_id=account.account_id, fields=sorted(changes))
        return await self._sessions.me(SessionRef(session_token=command.session_token))

    # --- authentication methods ------------------------------------------------------------

    async def me_auth_methods(self, request: SessionRef) -> AuthMethodList:
        _, account = await self._sessions.caller(request.session_token)
        used = last_used_by_type(await self._store.history.recent(account.account_id,
                                                                  _LAST_USED_SCAN))
        return AuthMethodList(items=[AuthMethodView.model_validate(method_view(account, m, used))
                                     for m in account.auth_methods])

    async def me_change_password(self, command: PasswordChange) -> Empty:
        session, account = await self._sessions.caller(command.session_token)
        self._changes.ensure_step_up(session, account)
        # Guesses of the current password spend the account's login budget and lock it.
        admission = await self._guard.admit_account(account.account_id)
        if not await self._verify_password(account.password_hash, command.current_password):
            await self._guard.failed(admission)
            raise InvalidCredentials("Mật khẩu hiện tại không đúng.", fields=[
                {"name": "current_password", "detail": "Mật khẩu hiện tại không đúng."}])
        await self._guard.succeeded(admission)
        password_hash = await self._passwords.checked_hash(
            account, command.new_password, command.new_password_confirmation,
            field="new_password")
        now = self._clock()
        async with self._uow() as uow:
            await uow.accounts.set_password(account.account_id, password_hash)
            if command.end_other_sessions:
                for ended in await uow.managed_sessions.revoke_others(
                        account.account_id, session.session_id, now):
                    uow.emit(new_event(SessionRevoked(account_id=account.account_id,
                                                      session_id=ended.session_id,
                                                      reason="password_changed"),
                                       correlation_id=session.session_id, occurred_at=now))
            uow.emit(new_event(PasswordChanged(account_id=account.account_id, reason="change"),
                               correlation_id=session.session_id, occurred_at=now))
            self._changes.notify(uow, account, session, "password_changed", now)
            await uow.commit()
        log.info("password changed", account_id=account.account_id,
                 ended_other_sessions=command.end_other_sessions)
        return Empty()

    async def me_add_method(self, command: NewMethod) -> MethodFlowView:
        session, account = await self._sessions.caller(command.session_token)
        self._changes.ensure_step_up(session, account, method_level(command.type))
        flow_id = self._new_id()
        token = self._new_token()
        if command.type == SMS:
            phone = self._new_phone(account, command.phone)
            await self._guard.allow_otp_send(command.ip)
            flow = self._method_flow(flow_id, token, account, SMS, "otp_sent", phone)
            await self._add_flow(flow)
            sent = await self._otp.issue(flow.flow_id, ADD_METHOD_PURPOSE, phone)
            return MethodFlowView.model_validate(
                flow.view() | {"flow_token": token,
                               "resend_available_at": sent.resend_available_at})
        proof = self._usb if command.type == USB else self._sim
        phone_or_none, answer = await proof.begin(flow_id, ADD_METHOD_PURPOSE, command.phone)
        flow = self._method_flow(flow_id, token, account, command.type, "awaiting_signature",
                                 phone_or_none)
        await self._add_flow(flow)
        return MethodFlowView.model_validate(flow.view() | {"flow_token": token} | answer)

    async def me_method_get(self, command: MethodFlowRef) -> MethodFlowView:
        session, account = await self._sessions.caller(command.session_token)
        flow = await self._own_flow(command, account)
        if flow.type == SIM and flow.status == "awaiting_signature":
            flow.ensure("awaiting_signature", self._clock())
            try:
                proof = await self._sim.poll(flow.flow_id, ADD_METHOD_PURPOSE)
            except SimEnded as ended:
                await self._fail(flow, ended.code)
                return await self._flow_view(flow.flow_id, account)
            if proof is not None:
                # Forbidden: failed with that code; FlowState: bound by a concurrent poll.
                with contextlib.suppress(Forbidden, FlowState):
                    await self._bind(session, account, flow, proof)
                return await self._flow_view(flow.flow_id, account)
        return await self._flow_view(flow.flow_id, account)

    async def me_method_otp(self, command: MethodOtp) -> AuthMethodView:
        session, account = await self._sessions.caller(command.session_token)
        flow = await self._own_flow(command, account)
        now = self._clock()
        flow.ensure("otp_sent", now)
        self._changes.ensure_step_up(session, account, method_level(SMS))
        assert flow.phone is not None
        await self._otp.verify(flow.flow_id, ADD_METHOD_PURPOSE, flow.phone,
                               command.code.strip())
        method = AuthMethod(self._new_id(), SMS, now, phone_id=self._new_id())
        phones_before = [p.phone_id for p in account.phones]
        async with self._uow() as uow:
            if not await uow.method_flows.finish(flow.flow_id, "otp_sent", "completed", now,
                                                 method_id=method.method_id):
                raise FlowState()
            # Conditional on the count: two flows finishing at once cannot make a sixth phone.
            if not await uow.managed_accounts.add_phone_method(account.account_id, method,
                                                               flow.phone, now, MAX_PHONES):
                raise PhoneLimit()
            self._emit_added(uow, account, method, session, now)
            self._changes.notify(uow, account, session, "sms_added", now, phones_before)
            await uow.commit()
        log.info("sms method added", account_id=account.account_id, method_id=method.method_id)
        return await self._method(account.account_id, method.method_id)

    async def me_method_signature(self, command: MethodSignature) -> AuthMethodView:
        session, account = await self._sessions.caller(command.session_token)
        flow = await self._own_flow(command, account)
        flow.ensure("awaiting_signature", self._clock())
        if flow.type != USB:
            raise FlowState()
        proof = await self._usb.verify(flow.flow_id, ADD_METHOD_PURPOSE, command)
        method_id = await self._bind(session, account, flow, proof)
        return await self._method(account.account_id, method_id)

    async def me_remove_method(self, command: MethodTarget) -> Empty:
        session, account = await self._sessions.caller(command.session_token)
        method = next((m for m in account.auth_methods if m.method_id == command.method_id),
                      None)
        if method is None:
            raise NotFound(_NO_METHOD)
        # A removal the rules refuse anyway is told so without asking for a step-up first.
        ensure_removable(account, method)
        self._changes.ensure_step_up(session, account, method_level(method.type))
        now = self._clock()
        phones_before = [p.phone_id for p in account.phones]
        removed = next((p for p in account.phones if p.phone_id == method.phone_id), None)
        async with self._uow() as uow:
            expected = [m.method_id for m in account.auth_methods]
            if not await uow.managed_accounts.remove_method(account.account_id, method,
                                                            expected):
                # The methods changed since they were read: the rule must be checked again.
                raise FlowState("Các phương thức xác thực vừa thay đổi, vui lòng thử lại.")
            uow.emit(new_event(AuthMethodRemoved(account_id=account.account_id,
                                                 method_id=method.method_id, type=method.type),
                               correlation_id=session.session_id, occurred_at=now))
            if removed is not None:
                await uow.managed_accounts.keep_former_phone(account.account_id, removed, now)
            self._changes.notify(uow, account, session, "method_removed", now, phones_before)
            await uow.commit()
        log.info("auth method removed", account_id=account.account_id, type=method.type)
        return Empty()

    # --- steps -----------------------------------------------------------------------------

    def _new_phone(self, account: Account, raw: str | None) -> str:
        if not raw:
            raise ValidationFailed(fields=[{"name": "phone", "detail":
                                            "Vui lòng nhập số điện thoại di động."}])
        phone = vietnamese_mobile(raw)
        if any(p.phone == phone for p in account.phones):
            raise ValidationFailed("Số điện thoại này đã có trong tài khoản.", fields=[
                {"name": "phone", "detail": "Số điện thoại này đã có trong tài khoản."}])
        if len(account.phones) >= MAX_PHONES:
            raise PhoneLimit()
        return phone

    async def _bind(self, session: Session, account: Account, flow: MethodFlow,
                    proof: CertificateProof) -> str:
        """The certificate becomes a method of the account if it names the account's owner."""
        self._changes.ensure_step_up(session, account, method_level(flow.type))
        now = self._clock()
        # The typed identity key: a passport with the digits of the holder's CMND, or an
        # employee's certificate naming the company, is someone else's.
        if not proof.names_holder_of(account):
            await self._fail(flow, Forbidden.code)
            log.info("certificate of someone else refused", account_id=account.account_id,
                     serial=proof.serial)
            raise Forbidden("Chứng thư số này không mang thông tin định danh của chủ tài khoản "
                            "nên không thể thêm vào tài khoản.")
        method = AuthMethod(self._new_id(), flow.type, now, details=proof.binding())
        phones_before = [p.phone_id for p in account.phones]
        async with self._uow() as uow:
            owner = await uow.managed_accounts.owner_of_fingerprint(proof.fingerprint_sha256)
            if owner is not None:
                raise ValidationFailed("Chứng thư số này đã được gắn với tài khoản.", fields=[
                    {"name": "certificate", "detail": "Chứng thư số đã được thêm trước đó."}])
            if not await uow.method_flows.finish(flow.flow_id, "awaiting_signature",
                                                 "completed", now, method_id=method.method_id):
                raise FlowState()
            await uow.managed_accounts.add_certificate_method(account.account_id, method,
                                                              SIGNATURE_LEVEL)
            self._emit_added(uow, account, method, session, now)
            self._changes.notify(uow, account, session, f"{flow.type}_added", now, phones_before)
            await uow.commit()
        log.info("certificate method added", account_id=account.account_id, type=flow.type,
                 serial=proof.serial)
        return method.method_id

    def _emit_added(self, uow: UnitOfWork, account: Account, method: AuthMethod,
                    session: Session, now: datetime) -> None:
        uow.emit(new_event(AuthMethodAdded(account_id=account.account_id,
                                           method_id=method.method_id, type=method.type),
                           correlation_id=session.session_id, occurred_at=now))

    async def _fail(self, flow: MethodFlow, code: str) -> None:
        async with self._uow() as uow:
            await uow.method_flows.finish(flow.flow_id, flow.status, "failed", self._clock(),
                                          code=code)
            await uow.commit()

    async def _method(self, account_id: str, method_id: str) -> AuthMethodView:
        account = await self._sessions.account(account_id)
        method = next(m for m in account.auth_methods if m.method_id == method_id)
        return AuthMethodView.model_validate(method_view(account, method, {}))

    async def _flow_view(self, flow_id: str, account: Account) -> MethodFlowView:
        async with self._uow() as uow:
            flow = await uow.method_flows.get(flow_id)
        if flow is None:
            raise NotFound()
        view = flow.view()
        if flow.status == "completed" and flow.method_id:
            view["method"] = await self._method(account.account_id, flow.method_id)
        return MethodFlowView.model_validate(view)

    def _method_flow(self, flow_id: str, token: str, account: Account, kind: str,
                     status: Any, phone: str | None) -> MethodFlow:
        now = self._clock()
        return MethodFlow(flow_id=flow_id, account_id=account.account_id, type=kind,
                          status=status, flow_token_hash=self._flow_hash(token),
                          created_at=now, expires_at=now + self._method_flow_ttl, phone=phone)

    async def _add_flow(self, flow: MethodFlow) -> None:
        async with self._uow() as uow:
            await uow.method_flows.add(flow)
            await uow.commit()

    async def _own_flow(self, ref: MethodFlowRef, account: Account) -> MethodFlow:
        """The flow, only for its account and the holder of its token."""
        async with self._uow() as uow:
            flow = await uow.method_flows.get(ref.id)
        if (flow is None or flow.account_id != account.account_id
                or not crypto.same(self._flow_hash(ref.flow_token), flow.flow_token_hash)):
            raise NotFound()
        return flow

    def _flow_hash(self, token: str) -> str:
        return self._policy.flow_hash(token)

