"""Use cases around the password + OTP login when something is missing: the OTP to another
registered phone, a lost OTP phone, and the forgotten password ("Quên mật khẩu"), which ends
every session of the account. (The one-time password of a post-office account is changed at
its first login: handlers/login/first_login.py.)"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.profile.domain.errors import (
    FlowState,
    NoPasswordMethod,
    NotFound,
    OtpRejected,
    ValidationFailed,
)
from services.profile.domain.models import (
    Account,
    LoginFlow,
    PasswordReset,
)
from services.profile.domain.phone import vietnamese_mobile
from services.profile.domain.ports import OtpService, Store, UnitOfWork
from services.profile.handlers.common import PasswordHasher, ProfilePolicy
from services.profile.handlers.credentials import NewPasswords
from services.profile.handlers.guard import LoginGuard
from services.profile.handlers.login.password import LOGIN_PURPOSE
from shared import crypto
from shared.clock import Clock
from shared.contracts.fields import FlowRef
from shared.contracts.otp import OtpPolicy
from shared.contracts.profile import (
    LostPhone,
    OtpPhoneChoice,
    OtpRedirected,
    OtpResent,
    ResetOtp,
    ResetPassword,
    ResetStart,
    ResetStarted,
    ResetStep,
    StepDone,
)
from shared.events import PasswordChanged, SessionRevoked, new_event
from shared.logging import get_logger
from shared.phones import mask_phone

log = get_logger(__name__)

RESET_PURPOSE = "password_reset"
# A decoy reset (no account, see PasswordReset) answers as the otp service would: its limits
# (otp's ``policy``, read from it), its code shape and its Vietnamese details
# (services/otp/domain/errors.py).
_CODE_SHAPE = re.compile(r"\d{6}")
_INVALID_INPUT_DETAIL = "Dữ liệu gửi lên không hợp lệ, vui lòng kiểm tra lại."
_LAST_WRONG_DETAIL = ("Mã OTP không đúng. Bạn đã nhập sai quá số lần cho phép, "
                      "vui lòng thực hiện lại từ đầu.")
_ATTEMPTS_EXCEEDED_DETAIL = "Bạn đã nhập sai mã OTP quá 5 lần. Vui lòng thực hiện lại từ đầu."
# Vietnamese mobile prefixes (after +84) a decoy's masked number may show.
_MOBILE_PREFIXES = ("32", "33", "34", "35", "36", "37", "38", "39", "70", "76", "77", "78",
                    "79", "81", "82", "83", "84", "85", "86", "88", "89", "90", "91", "93",
                    "94", "96", "97", "98")
# The otp service's refusals of a send that leave no SMS sent (and none counted).
_NOT_SENT = frozenset({"otp_resend_too_soon", "otp_attempts_exceeded"})
LOST_PHONE_REF = "lost-phone"

def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _storage_time(moment: datetime) -> datetime:
    """Milliseconds, as the otp service's times are (a decoy's answer looks the same)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _reset_phone(account: Account | None) -> str | None:
    """Where a reset code goes: the account's login OTP phone, if it has one."""
    if account is None or not account.otp_phones():
        return None
    return account.login_phone().phone


def _resend_interval(otp: OtpPolicy) -> timedelta:
    return timedelta(seconds=otp.resend_interval_seconds)


def _wrong_code(failures: int, max_attempts: int) -> OtpRejected:
    """The otp service's answers to the n-th wrong code (services/otp/domain/errors.py)."""
    remaining = max_attempts - failures
    if remaining > 0:
        return OtpRejected("otp_invalid", f"Mã OTP không đúng. Bạn còn {remaining} lần nhập.")
    if remaining == 0:
        return OtpRejected("otp_invalid", _LAST_WRONG_DETAIL)
    return OtpRejected("otp_attempts_exceeded", _ATTEMPTS_EXCEEDED_DETAIL)


def _too_soon(available: datetime, now: datetime) -> OtpRejected:
    """The otp service's ``otp_resend_too_soon`` (services/otp/domain/errors.py)."""
    wait = max(1, math.ceil((available - now).total_seconds()))
    return OtpRejected("otp_resend_too_soon",
                       f"Vui lòng đợi {wait} giây trước khi yêu cầu gửi lại mã OTP.",
                       retry_after=wait)


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
        self._passwords = NewPasswords(hash_password)
        self._new_id = new_id
        self._new_token = new_token

    # --- the OTP step of a login -----------------------------------------------------------

    async def login_otp_phone(self, command: OtpPhoneChoice) -> OtpRedirected:
        """"Chọn phương thức xác thực khác": the code goes to another registered phone."""
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

    async def login_lost_phone(self, command: LostPhone) -> OtpRedirected:
        """"Mất số điện thoại nhận OTP": the code goes to a new phone; /otp then checks the
        carrier's registry before that phone replaces the OTP phone."""
        phone = vietnamese_mobile(command.phone)
        flow = await self._login(command)
        flow.ensure_awaiting_otp(self._clock())
        return await self._redirect(flow, command.ip, phone=flow.phone, phone_id=flow.phone_id,
                                    otp_ref=f"{flow.flow_id}:{LOST_PHONE_REF}",
                                    new_phone=phone)

    async def _redirect(self, flow: LoginFlow, ip: str | None, *, phone: str, phone_id: str,
                        otp_ref: str, new_phone: str | None) -> OtpRedirected:
        await self._guard.allow_otp_send(ip)
        target = new_phone or phone
        # Send first: a refused send (too soon, limit, SMS failure) leaves the flow as it was,
        # still pointing at the number its live code went to. The otp service binds each code
        # to its number, so the flow may only name a number once a code went there.
        sent = await self._otp.issue(otp_ref, LOGIN_PURPOSE, target)
        if not await self._store.logins.redirect_otp(flow.flow_id, self._clock(), phone=phone,
                                                     phone_id=phone_id, otp_ref=otp_ref,
                                                     new_phone=new_phone):
            raise FlowState()
        return OtpRedirected(status="otp_sent", phone_masked=mask_phone(target),
                             resend_available_at=sent.resend_available_at)

    # --- forgotten password ----------------------------------------------------------------

    async def reset_start(self, command: ResetStart) -> ResetStarted:
        """One answer whether or not the name has an account (no enumeration): a name
        without an account, or an account without an OTP phone, gets a decoy reset that sent
        nothing and that no code opens. Throttled per name, and per account and phone before
        an SMS goes out, so a stranger cannot spend the owner's SMS budget."""
        await self._guard.allow_otp_send(command.ip)
        name = command.username.strip()
        await self._guard.allow_reset(name)
        account = await self._store.accounts.find_by_login_name(name)
        phone = _reset_phone(account)
        if account is not None and phone is not None:
            await self._guard.allow_reset_sms(account.account_id, phone)
        token = self._new_token()
        now = self._clock()
        reset = PasswordReset(reset_id=self._new_id(),
                              account_id=account.account_id if account and phone else None,
                              status="otp_sent", flow_token_hash=self._flow_hash(token),
                              phone=phone, created_at=now,
                              expires_at=now + self._policy.login_flow_ttl, ip=command.ip)
        await self._store.resets.add(reset)
        masked = self._decoy_mask(name)
        # Read for a real reset too: both answer after the same calls.
        resend_after = _resend_interval(await self._otp.policy())
        resend_at: str | None = _iso(_storage_time(now) + resend_after)
        if phone is not None:
            sent = await self._otp.issue(reset.reset_id, RESET_PURPOSE, phone)
            masked, resend_at = mask_phone(phone), sent.resend_available_at
        return ResetStarted(id=reset.reset_id, flow_token=token, status=reset.status,
                            phone_masked=masked, expires_at=_iso(reset.expires_at),
                            resend_available_at=resend_at)

    async def reset_resend_otp(self, command: ResetStep) -> OtpResent:
        """"Gửi lại OTP": a new code to the reset's phone, under the same caps as a new
        reset (per address, per account and per phone). A decoy answers by the same rules:
        its SMS count, its 60 s wait and its lock after 5 wrong codes are kept by the guard's
        counters, so its answers cannot be told from a real reset's."""
        await self._guard.allow_otp_send(command.ip)
        reset = await self._reset(command)
        reset.ensure("otp_sent", self._clock())
        try:
            if reset.is_decoy:
                return await self._decoy_resend(reset)
            assert reset.phone is not None and reset.account_id is not None
            await self._guard.allow_reset_sms(reset.account_id, reset.phone)
            sent = await self._otp.issue(reset.reset_id, RESET_PURPOSE, reset.phone)
        except OtpRejected as exc:
            if exc.code in _NOT_SENT:  # a refused resend is not an SMS of the cap
                await self._guard.reset_sms_not_sent(reset.account_id, reset.phone,
                                                     reset.reset_id)
            raise
        return OtpResent(status="otp_sent", resend_available_at=sent.resend_available_at)

    async def _decoy_resend(self, reset: PasswordReset) -> OtpResent:
        """The otp service's checks, in its order, for a reset that sends nothing."""
        now = self._clock()
        otp = await self._otp.policy()
        resend_after = _resend_interval(otp)
        await self._guard.allow_decoy_resend(reset.reset_id, reset.created_at)
        if await self._guard.decoy_codes_wrong(reset.reset_id,
                                               self._policy.login_flow_ttl) >= otp.max_attempts:
            raise OtpRejected("otp_attempts_exceeded", _ATTEMPTS_EXCEEDED_DETAIL)
        first_wait = _storage_time(reset.created_at) + resend_after
        if now < first_wait:
            raise _too_soon(first_wait, now)
        sent_at = _storage_time(now)
        wait_ends = await self._guard.decoy_sent(reset.reset_id, resend_after)
        if wait_ends is not None:
            raise _too_soon(wait_ends, now)
        return OtpResent(status="otp_sent", resend_available_at=_iso(sent_at + resend_after))

    async def reset_submit_otp(self, command: ResetOtp) -> StepDone:
        reset = await self._reset(command)
        reset.ensure("otp_sent", self._clock())
        if reset.is_decoy:
            raise await self._decoy_refusal(reset, command.code)
        assert reset.phone is not None and reset.account_id is not None
        await self._otp.verify(reset.reset_id, RESET_PURPOSE, reset.phone, command.code.strip())
        # Told only now, to whoever proved the phone: an account that logs in by signature
        # has no password, and a reset must not create one (recoverable by SMS alone).
        await self._ensure_has_password(reset.account_id)
        if not await self._store.resets.advance(reset.reset_id, "otp_sent",
                                                "awaiting_password", self._clock()):
            raise FlowState()
        return StepDone(status="awaiting_password")

    async def _ensure_has_password(self, account_id: str) -> None:
        account = await self._account(account_id)
        if account.password_hash is None:
            log.info("password reset refused: no password method", account_id=account_id)
            raise NoPasswordMethod()

    async def _decoy_refusal(self, reset: PasswordReset, code: str) -> OtpRejected:
        """What the otp service answers for a wrong code, for a reset that sent none."""
        if not _CODE_SHAPE.fullmatch(code.strip()):
            return OtpRejected("validation_error", _INVALID_INPUT_DETAIL)
        failures = await self._guard.wrong_decoy_code(reset.reset_id,
                                                      self._policy.login_flow_ttl)
        return _wrong_code(failures, (await self._otp.policy()).max_attempts)

    def _decoy_mask(self, name: str) -> str:
        """A plausible masked Vietnamese mobile, the same every time for the same name."""
        digest = crypto.keyed_hash(self._policy.flow_secret, f"decoy-phone:{name.casefold()}")
        number = int(digest[:12], 16)
        prefix = _MOBILE_PREFIXES[number % len(_MOBILE_PREFIXES)]
        return f"+84{prefix}****{number // len(_MOBILE_PREFIXES) % 1000:03d}"

    async def reset_set_password(self, command: ResetPassword) -> StepDone:
        reset = await self._reset(command)
        reset.ensure("awaiting_password", self._clock())
        if reset.account_id is None:
            raise FlowState()  # a decoy never gets here: no code opens it
        await self._ensure_has_password(reset.account_id)
        account = await self._account(reset.account_id)
        password_hash = await self._passwords.checked_hash(account, command.password,
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
        return StepDone(status="completed")

    # --- helpers ---------------------------------------------------------------------------

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
        return self._policy.flow_hash(token)
