"""Use cases around the password + OTP login when something is missing: the OTP to another
registered phone, a lost OTP phone, a one-time password to change (post office), and the
forgotten password ("Quên mật khẩu"), which ends every session of the account."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from services.profile.domain import password_policy
from services.profile.domain.commands import ClientInfo, FlowAction, FlowRef, parse
from services.profile.domain.errors import (
    FlowState,
    NotFound,
    PasswordMismatch,
    PasswordPolicy,
    ValidationFailed,
)
from services.profile.domain.models import (
    Account,
    LoginFlow,
    PasswordReset,
    national_digits,
)
from services.profile.domain.phone import vietnamese_mobile
from services.profile.domain.ports import OtpService, Store, UnitOfWork
from services.profile.guard import LoginGuard
from services.profile.handlers import LOGIN_PURPOSE, ProfilePolicy
from shared import crypto
from shared.clock import Clock
from shared.events import PasswordChanged, SessionRevoked, new_event
from shared.logging import get_logger
from shared.phones import mask_phone

log = get_logger(__name__)

RESET_PURPOSE = "password_reset"
LOST_PHONE_REF = "lost-phone"
PasswordHasher = Callable[[str], Awaitable[str]]

_Password = Field(min_length=1, max_length=1024)


class ChooseOtpPhone(FlowAction):
    phone_id: str = Field(min_length=1, max_length=64)


class LostPhone(FlowAction):
    phone: str = Field(min_length=1, max_length=32)


class NewPassword(FlowAction):
    new_password: str = _Password
    new_password_confirmation: str = _Password


class StartReset(ClientInfo):
    username: str = Field(min_length=1, max_length=200)


class ResetOtp(FlowRef):
    code: str = Field(min_length=1, max_length=16)


class ResetPassword(FlowRef):
    password: str = _Password
    password_confirmation: str = _Password


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class Recovery:
    def __init__(self, *, uow: Callable[[], UnitOfWork], store: Store, otp: OtpService,
                 clock: Clock, policy: ProfilePolicy, guard: LoginGuard,
                 hash_password: PasswordHasher = crypto.hash_password,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
                 new_token: Callable[[], str] = crypto.new_token) -> None:
        self._uow = uow
        self._store = store
        self._otp = otp
        self._clock = clock
        self._policy = policy
        self._guard = guard
        self._hash_password = hash_password
        self._new_id = new_id
        self._new_token = new_token

    # --- the OTP step of a login -----------------------------------------------------------

    async def login_otp_phone(self, payload: dict[str, Any]) -> dict[str, Any]:
        """"Chọn phương thức xác thực khác": the code goes to another registered phone."""
        command = parse(ChooseOtpPhone, payload)
        flow = await self._login(command)
        flow.ensure_awaiting_otp(self._clock())
        account = await self._account(flow.account_id)
        phone = next((p for p in account.otp_phones() if p.phone_id == command.phone_id), None)
        if phone is None:
            raise ValidationFailed(fields=[{"name": "phone_id", "detail":
                                            "Số điện thoại này không thuộc tài khoản."}])
        ref = flow.flow_id if phone.phone_id == account.login_phone().phone_id \
            else f"{flow.flow_id}:{phone.phone_id}"
        return await self._redirect(flow, command.ip, phone=phone.phone,
                                    phone_id=phone.phone_id, otp_ref=ref, new_phone=None)

    async def login_lost_phone(self, payload: dict[str, Any]) -> dict[str, Any]:
        """"Mất số điện thoại nhận OTP": the code goes to a new phone; /otp then checks the
        carrier's registry before that phone replaces the OTP phone."""
        command = parse(LostPhone, payload)
        phone = vietnamese_mobile(command.phone)
        flow = await self._login(command)
        flow.ensure_awaiting_otp(self._clock())
        return await self._redirect(flow, command.ip, phone=flow.phone, phone_id=flow.phone_id,
                                    otp_ref=f"{flow.flow_id}:{LOST_PHONE_REF}",
                                    new_phone=phone)

    async def _redirect(self, flow: LoginFlow, ip: str | None, *, phone: str, phone_id: str,
                        otp_ref: str, new_phone: str | None) -> dict[str, Any]:
        await self._guard.allow_otp_send(ip)
        if not await self._store.logins.redirect_otp(flow.flow_id, self._clock(), phone=phone,
                                                     phone_id=phone_id, otp_ref=otp_ref,
                                                     new_phone=new_phone):
            raise FlowState()
        target = new_phone or phone
        sent = await self._otp.issue(otp_ref, LOGIN_PURPOSE, target)
        return {"status": "otp_sent", "phone_masked": mask_phone(target),
                "resend_available_at": sent.get("resend_available_at")}

    async def login_change_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        """First login of a post-office account: a new password, then the OTP as usual."""
        command = parse(NewPassword, payload)
        flow = await self._login(command)
        now = self._clock()
        flow.ensure_readable(now)
        if flow.status != "password_change_required":
            raise FlowState()
        account = await self._account(flow.account_id)
        password_hash = await self._checked_hash(account, command.new_password,
                                                 command.new_password_confirmation,
                                                 field="new_password")
        async with self._uow() as uow:
            if not await uow.logins.advance(flow.flow_id, "password_change_required",
                                            "otp_sent", now):
                raise FlowState()
            await uow.accounts.set_password(account.account_id, password_hash)
            uow.emit(new_event(PasswordChanged(account_id=account.account_id,
                                               reason="first_login"),
                               correlation_id=flow.flow_id, occurred_at=now))
            await uow.commit()
        await self._guard.allow_otp_send(command.ip)
        sent = await self._otp.issue(flow.otp_key(), LOGIN_PURPOSE, flow.phone)
        return {"status": "otp_sent", "phone_masked": mask_phone(flow.phone),
                "resend_available_at": sent.get("resend_available_at")}

    # --- forgotten password ----------------------------------------------------------------

    async def reset_start(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(StartReset, payload)
        await self._guard.allow_otp_send(command.ip)
        account = await self._store.accounts.find_by_login_name(command.username.strip())
        if account is None:
            # Registration's duplicate check already says whether an ID number has an
            # account; the per-IP throttle above bounds how fast anyone can ask.
            raise NotFound("Không tìm thấy tài khoản với tên đăng nhập này.")
        phone = account.login_phone()
        token = self._new_token()
        now = self._clock()
        reset = PasswordReset(reset_id=self._new_id(), account_id=account.account_id,
                              status="otp_sent", flow_token_hash=self._flow_hash(token),
                              phone=phone.phone, created_at=now,
                              expires_at=now + self._policy.login_flow_ttl, ip=command.ip)
        await self._store.resets.add(reset)
        sent = await self._otp.issue(reset.reset_id, RESET_PURPOSE, phone.phone)
        return {"id": reset.reset_id, "flow_token": token, "status": reset.status,
                "phone_masked": mask_phone(phone.phone), "expires_at": _iso(reset.expires_at),
                "resend_available_at": sent.get("resend_available_at")}

    async def reset_submit_otp(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(ResetOtp, payload)
        reset = await self._reset(command)
        reset.ensure("otp_sent", self._clock())
        await self._otp.verify(reset.reset_id, RESET_PURPOSE, command.code)
        if not await self._store.resets.advance(reset.reset_id, "otp_sent",
                                                "awaiting_password", self._clock()):
            raise FlowState()
        return {"status": "awaiting_password"}

    async def reset_set_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(ResetPassword, payload)
        reset = await self._reset(command)
        reset.ensure("awaiting_password", self._clock())
        account = await self._account(reset.account_id)
        password_hash = await self._checked_hash(account, command.password,
                                                 command.password_confirmation)
        now = self._clock()
        async with self._uow() as uow:
            if not await uow.resets.advance(reset.reset_id, "awaiting_password", "completed",
                                            now):
                raise FlowState()
            await uow.accounts.set_password(account.account_id, password_hash)
            # Whoever knew the old password is logged out everywhere, at once.
            for session in await uow.sessions.revoke_all(account.account_id, now):
                uow.emit(new_event(SessionRevoked(account_id=account.account_id,
                                                  session_id=session.session_id,
                                                  reason="password_reset"),
                                   correlation_id=reset.reset_id, occurred_at=now))
            uow.emit(new_event(PasswordChanged(account_id=account.account_id, reason="reset"),
                               correlation_id=reset.reset_id, occurred_at=now))
            await uow.commit()
        log.info("password reset", account_id=account.account_id)
        return {"status": "completed"}

    # --- helpers ---------------------------------------------------------------------------

    async def _checked_hash(self, account: Account, password: str, confirmation: str,
                            field: str = "password") -> str:
        problems = password_policy.problems(
            password, id_number=account.id_number,
            phone_digits=[national_digits(p.phone) for p in account.phones])
        if problems:
            raise PasswordPolicy(problems, field=field)
        if password != confirmation:
            raise PasswordMismatch()
        return await self._hash_password(password)

    async def _account(self, account_id: str) -> Account:
        account = await self._store.accounts.get(account_id)
        if account is None:
            raise NotFound()
        return account

    async def _login(self, ref: FlowRef) -> LoginFlow:
        flow = await self._store.logins.get(ref.id)
        if flow is None or not crypto.same(self._flow_hash(ref.flow_token),
                                           flow.flow_token_hash):
            raise NotFound()
        return flow

    async def _reset(self, ref: FlowRef) -> PasswordReset:
        reset = await self._store.resets.get(ref.id)
        if reset is None or not crypto.same(self._flow_hash(ref.flow_token),
                                           reset.flow_token_hash):
            raise NotFound()
        return reset

    def _flow_hash(self, token: str) -> str:
        return crypto.keyed_hash(self._policy.flow_secret, token)
