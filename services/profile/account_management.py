"""Use cases of account management (API.md "The account", ``/me``): the identity shaped per
subject type, contacts, authentication methods (list, add an SMS phone / a USB token / a SIM
signature, remove, change the password), the login history and the sessions.

Every endpoint takes the caller's ``session_token``: an account is visible to its owner only;
an id (session, method, flow) of another account is ``not_found``, as an unknown one.
Sensitive changes need a step-up of this session within the last 5 minutes, at least as
strong as what changes (``domain/step_up.py``, ``step_up.py``), and each is told to the
phones the account had before it (a ``SecurityNoticeRequested`` event in the same commit,
sent by ``security_notices.py``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from services.profile.domain import password_policy
from services.profile.domain.account_management import (
    ADD_METHOD_PURPOSE,
    MAX_PHONES,
    SMS,
    AccountUnitOfWork,
    AddMethod,
    ChangePassword,
    LoginPage,
    MethodFlow,
    MethodFlowOtp,
    MethodFlowRef,
    MethodFlowSignature,
    MethodTarget,
    SessionTarget,
    UpdateContacts,
    checked_changes,
    ensure_removable,
    identity_view,
    iso,
    last_used_by_type,
    login_view,
    method_view,
    session_view,
)
from services.profile.domain.certificate_login import (
    SIGNATURE_LEVEL,
    SIM,
    SIM_ENDING_CODES,
    USB,
    CertificateProof,
    PkiService,
)
from services.profile.domain.commands import SessionRef, parse
from services.profile.domain.errors import (
    FlowState,
    Forbidden,
    InvalidCredentials,
    NotFound,
    PasswordMismatch,
    PasswordPolicy,
    PhoneLimit,
    PkiRejected,
    Unauthenticated,
    ValidationFailed,
)
from services.profile.domain.models import (
    Account,
    AuthMethod,
    Session,
    national_digits,
)
from services.profile.domain.phone import vietnamese_mobile
from services.profile.domain.ports import OtpService, Store
from services.profile.domain.step_up import (
    STEP_UP_VALIDITY,
    coarse_device,
    ensure_stepped_up,
    method_level,
    required_level,
)
from services.profile.guard import LoginGuard
from services.profile.handlers import PasswordVerifier, Profile, ProfilePolicy
from shared import crypto
from shared.clock import Clock
from shared.events import (
    AuthMethodAdded,
    AuthMethodRemoved,
    Envelope,
    PasswordChanged,
    ProfileUpdated,
    SecurityNoticeRequested,
    SessionRevoked,
    new_event,
)
from shared.logging import get_logger

log = get_logger(__name__)

PasswordHasher = Callable[[str], Awaitable[str]]
# Enough recent logins to tell when each kind of method was last used.
_LAST_USED_SCAN = 200
_NO_SESSION = "Không tìm thấy phiên đăng nhập này."
_NO_METHOD = "Không tìm thấy phương thức xác thực này."


class AccountManagement:
    def __init__(self, *, uow: Callable[[], AccountUnitOfWork], store: Store,
                 otp: OtpService, pki: PkiService | None, clock: Clock,
                 policy: ProfilePolicy, profile: Profile, guard: LoginGuard,
                 step_up_validity: timedelta = STEP_UP_VALIDITY,
                 method_flow_ttl: timedelta = timedelta(minutes=10),
                 verify_password: PasswordVerifier = crypto.verify_password,
                 hash_password: PasswordHasher = crypto.hash_password,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
                 new_token: Callable[[], str] = crypto.new_token) -> None:
        self._uow = uow
        self._store = store
        self._otp = otp
        self._pki = pki
        self._clock = clock
        self._policy = policy
        self._profile = profile
        self._guard = guard
        self._step_up_validity = step_up_validity
        self._method_flow_ttl = method_flow_ttl
        self._verify_password = verify_password
        self._hash_password = hash_password
        self._new_id = new_id
        self._new_token = new_token

    # --- identity and contacts -------------------------------------------------------------

    async def me(self, payload: dict[str, Any]) -> dict[str, Any]:
        view = await self._profile.me(payload)
        return view | {"identity": identity_view(view), "editable": ["email", "address"]}

    async def me_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(UpdateContacts, payload)
        session, account = await self._caller(command)
        changes = checked_changes(command, account)
        email_changes = "email" in changes and changes["email"] != account.email
        if email_changes:
            # The e-mail may receive notices about the account: changing it is sensitive.
            self._ensure_step_up(session, account)
        now = self._clock()
        async with self._uow() as uow:
            if email_changes:
                # Told to the old address (kept under the notice's event id), not the new one.
                told = self._notify(uow, account, session, "email_changed", now)
                if account.email:
                    await uow.managed_accounts.keep_former_email(account.account_id,
                                                                 account.email, told.id, now)
            await uow.managed_accounts.update_contacts(account.account_id, changes)
            uow.emit(new_event(ProfileUpdated(account_id=account.account_id,
                                              fields=sorted(changes)),
                               correlation_id=session.session_id, occurred_at=now))
            await uow.commit()
        log.info("profile updated", account_id=account.account_id, fields=sorted(changes))
        return await self.me({"session_token": command.session_token})

    # --- login history and sessions --------------------------------------------------------

    async def me_logins(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(LoginPage, payload)
        session = await self._session(command)
        records = await self._store.history.recent(session.account_id, command.limit,
                                                   command.before)
        page: dict[str, Any] = {"items": [login_view(r) for r in records]}
        if len(records) == command.limit:
            page["next_before"] = iso(records[-1].at)
        return page

    async def me_sessions(self, payload: dict[str, Any]) -> dict[str, Any]:
        session = await self._session(parse(SessionRef, payload))
        async with self._uow() as uow:
            live = await uow.managed_sessions.active(session.account_id, self._clock())
        return {"items": [session_view(s, session.session_id) for s in live]}

    async def me_end_session(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(SessionTarget, payload)
        session, account = await self._caller(command)
        now = self._clock()
        other = command.session_id != session.session_id
        if other:
            # Ending one's own session is a logout; ending another needs a step-up (a thief
            # must not throw the owner out), after the id is known to be the account's.
            async with self._uow() as uow:
                live = await uow.managed_sessions.active(session.account_id, now)
            if all(s.session_id != command.session_id for s in live):
                raise NotFound(_NO_SESSION)
            self._ensure_step_up(session, account)
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
                self._notify(uow, account, session, "session_ended", now)
            await uow.commit()
        log.info("session ended by its owner", account_id=session.account_id,
                 session_id=ended.session_id)
        return {}

    # --- authentication methods ------------------------------------------------------------

    async def me_auth_methods(self, payload: dict[str, Any]) -> dict[str, Any]:
        _, account = await self._caller(parse(SessionRef, payload))
        used = last_used_by_type(await self._store.history.recent(account.account_id,
                                                                  _LAST_USED_SCAN))
        return {"items": [method_view(account, m, used) for m in account.auth_methods]}

    async def me_change_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(ChangePassword, payload)
        session, account = await self._caller(command)
        self._ensure_step_up(session, account)
        # Guesses of the current password spend the account's login budget and lock it.
        admission = await self._guard.admit_account(account.account_id)
        if not await self._verify_password(account.password_hash, command.current_password):
            await self._guard.failed(admission)
            raise InvalidCredentials("Mật khẩu hiện tại không đúng.", fields=[
                {"name": "current_password", "detail": "Mật khẩu hiện tại không đúng."}])
        await self._guard.succeeded(admission)
        problems = password_policy.problems(
            command.new_password, id_number=account.id_number,
            phone_digits=[national_digits(p.phone) for p in account.phones])
        if problems:
            raise PasswordPolicy(problems, field="new_password")
        if command.new_password != command.new_password_confirmation:
            raise PasswordMismatch()
        password_hash = await self._hash_password(command.new_password)
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
            self._notify(uow, account, session, "password_changed", now)
            await uow.commit()
        log.info("password changed", account_id=account.account_id,
                 ended_other_sessions=command.end_other_sessions)
        return {}

    async def me_add_method(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(AddMethod, payload)
        session, account = await self._caller(command)
        self._ensure_step_up(session, account, method_level(command.type))
        flow_id = self._new_id()
        token = self._new_token()
        if command.type == SMS:
            phone = self._new_phone(account, command.phone)
            await self._guard.allow_otp_send(command.ip)
            flow = self._method_flow(flow_id, token, account, SMS, "otp_sent", phone)
            await self._add_flow(flow)
            sent = await self._otp.issue(flow.flow_id, ADD_METHOD_PURPOSE, phone)
            return flow.view() | {"flow_token": token,
                                  "resend_available_at": sent.get("resend_available_at")}
        pki = self._require_pki()
        answer: dict[str, Any]
        phone_or_none: str | None = None
        if command.type == USB:
            challenge = await pki.challenge(flow_id, ADD_METHOD_PURPOSE)
            answer = {"challenge": challenge["challenge"]}
        else:
            if not command.phone:
                raise ValidationFailed(fields=[{"name": "phone", "detail":
                                                "Vui lòng nhập số điện thoại của SIM ký số."}])
            phone_or_none = vietnamese_mobile(command.phone)
            started = await pki.sim_start(flow_id, ADD_METHOD_PURPOSE, phone_or_none)
            answer = {"verification_code": started["verification_code"]}
        flow = self._method_flow(flow_id, token, account, command.type, "awaiting_signature",
                                 phone_or_none)
        await self._add_flow(flow)
        return flow.view() | {"flow_token": token} | answer

    async def me_method_get(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(MethodFlowRef, payload)
        session, account = await self._caller(command)
        flow = await self._own_flow(command, account)
        if flow.type == SIM and flow.status == "awaiting_signature":
            flow.ensure("awaiting_signature", self._clock())
            try:
                proof = await self._require_pki().sim_status(flow.flow_id, ADD_METHOD_PURPOSE)
            except PkiRejected as refused:
                if refused.code not in SIM_ENDING_CODES:
                    raise
                await self._fail(flow, refused.code)
                return await self._flow_view(flow.flow_id, account)
            if proof is not None:
                # Forbidden: failed with that code; FlowState: bound by a concurrent poll.
                with contextlib.suppress(Forbidden, FlowState):
                    await self._bind(session, account, flow, proof)
                return await self._flow_view(flow.flow_id, account)
        return await self._flow_view(flow.flow_id, account)

    async def me_method_otp(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(MethodFlowOtp, payload)
        session, account = await self._caller(command)
        flow = await self._own_flow(command, account)
        now = self._clock()
        flow.ensure("otp_sent", now)
        self._ensure_step_up(session, account, method_level(SMS))
        assert flow.phone is not None
        await self._otp.verify(flow.flow_id, ADD_METHOD_PURPOSE, flow.phone, command.code)
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
            self._notify(uow, account, session, "sms_added", now, phones_before)
            await uow.commit()
        log.info("sms method added", account_id=account.account_id, method_id=method.method_id)
        return await self._method(account.account_id, method.method_id)

    async def me_method_signature(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(MethodFlowSignature, payload)
        session, account = await self._caller(command)
        flow = await self._own_flow(command, account)
        flow.ensure("awaiting_signature", self._clock())
        if flow.type != USB:
            raise FlowState()
        proof = await self._require_pki().verify_signature(
            flow.flow_id, ADD_METHOD_PURPOSE, command.certificate, command.chain,
            command.signature)
        method_id = await self._bind(session, account, flow, proof)
        return await self._method(account.account_id, method_id)

    async def me_remove_method(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(MethodTarget, payload)
        session, account = await self._caller(command)
        method = next((m for m in account.auth_methods if m.method_id == command.method_id),
                      None)
        if method is None:
            raise NotFound(_NO_METHOD)
        # A removal the rules refuse anyway is told so without asking for a step-up first.
        ensure_removable(account, method)
        self._ensure_step_up(session, account, method_level(method.type))
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
            self._notify(uow, account, session, "method_removed", now, phones_before)
            await uow.commit()
        log.info("auth method removed", account_id=account.account_id, type=method.type)
        return {}

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
        self._ensure_step_up(session, account, method_level(flow.type))
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
            self._notify(uow, account, session, f"{flow.type}_added", now, phones_before)
            await uow.commit()
        log.info("certificate method added", account_id=account.account_id, type=flow.type,
                 serial=proof.serial)
        return method.method_id

    def _ensure_step_up(self, session: Session, account: Account,
                        changed_level: int = 2) -> None:
        ensure_stepped_up(session, self._clock(), required_level(account, changed_level),
                          self._step_up_validity)

    def _notify(self, uow: AccountUnitOfWork, account: Account, session: Session,
                change: str, now: datetime, phone_ids: list[str] | None = None) -> Envelope:
        """The notice of a change, to the phones the account had before it (``phone_ids``
        taken before the change, else those of ``account`` as read before it), committed
        with the change itself."""
        event = new_event(SecurityNoticeRequested(
            account_id=account.account_id, change=change,
            phone_ids=phone_ids if phone_ids is not None
            else [p.phone_id for p in account.phones], at=iso(now) or "",
            device=coarse_device(session.user_agent), email=account.email is not None),
            correlation_id=session.session_id, occurred_at=now)
        uow.emit(event)
        return event

    def _emit_added(self, uow: AccountUnitOfWork, account: Account, method: AuthMethod,
                    session: Session, now: datetime) -> None:
        uow.emit(new_event(AuthMethodAdded(account_id=account.account_id,
                                           method_id=method.method_id, type=method.type),
                           correlation_id=session.session_id, occurred_at=now))

    async def _fail(self, flow: MethodFlow, code: str) -> None:
        async with self._uow() as uow:
            await uow.method_flows.finish(flow.flow_id, flow.status, "failed", self._clock(),
                                          code=code)
            await uow.commit()

    async def _method(self, account_id: str, method_id: str) -> dict[str, Any]:
        account = await self._account(account_id)
        method = next(m for m in account.auth_methods if m.method_id == method_id)
        return method_view(account, method, {})

    async def _flow_view(self, flow_id: str, account: Account) -> dict[str, Any]:
        async with self._uow() as uow:
            flow = await uow.method_flows.get(flow_id)
        if flow is None:
            raise NotFound()
        view = flow.view()
        if flow.status == "completed" and flow.method_id:
            view["method"] = await self._method(account.account_id, flow.method_id)
        return view

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

    async def _session(self, ref: SessionRef) -> Session:
        now = self._clock()
        session = await self._store.sessions.touch(
            crypto.keyed_hash(self._policy.session_secret, ref.session_token), now,
            self._policy.session.idle_expiry(now))
        if session is None:
            raise Unauthenticated()
        return session

    async def _caller(self, ref: SessionRef) -> tuple[Session, Account]:
        session = await self._session(ref)
        return session, await self._account(session.account_id)

    async def _account(self, account_id: str) -> Account:
        account = await self._store.accounts.get(account_id)
        if account is None:
            raise Unauthenticated()
        return account

    def _require_pki(self) -> PkiService:
        if self._pki is None:
            raise PkiRejected("service_unavailable")
        return self._pki

    def _flow_hash(self, token: str) -> str:
        return crypto.keyed_hash(self._policy.flow_secret, token)

