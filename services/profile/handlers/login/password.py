"""The password login strategy: ID number (or username) + password, then an OTP to the
account's phone → level 2. The lost-phone and other-phone variants of the OTP step are in
handlers/recovery; the post-office first login's password change in ``first_login.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.profile.domain.errors import (
    AccountDisabled,
    FlowState,
    InvalidCredentials,
    OtpRejected,
    SubscriberMismatch,
)
from services.profile.domain.models import (
    PASSWORD_METHOD,
    PASSWORD_OTP_LEVEL,
    LoginFlow,
    Subscriber,
    open_session,
    subscriber_is_owner,
)
from services.profile.domain.ports import OtpService, Store, SubscriberRegistry, UnitOfWork
from services.profile.handlers.common import PasswordVerifier, ProfilePolicy, iso, new_id
from services.profile.handlers.guard import LoginGuard
from services.profile.handlers.login.strategy import AnyLoginFlow, LoginHistory
from shared import crypto
from shared.clock import Clock
from shared.contracts.profile import (
    LoginCompleted,
    LoginFlowView,
    LoginOtp,
    LoginStart,
    LoginStarted,
    LoginStep,
    OtpResent,
    PasswordLoginStart,
    PhoneAlternative,
)
from shared.events import OtpPhoneReplaced, PasswordChanged, new_event
from shared.logging import get_logger
from shared.phones import mask_phone

log = get_logger(__name__)

LOGIN_PURPOSE = "login"


class PasswordLogin:
    method = PASSWORD_METHOD
    level = PASSWORD_OTP_LEVEL

    def __init__(self, *, uow: Callable[[], UnitOfWork], store: Store, otp: OtpService,
                 clock: Clock, policy: ProfilePolicy, guard: LoginGuard,
                 history: LoginHistory, verify_password: PasswordVerifier = crypto.verify_password,
                 new_id: Callable[[], str] = new_id,
                 new_token: Callable[[], str] = crypto.new_token,
                 subscribers: SubscriberRegistry | None = None) -> None:
        self._uow = uow
        self._store = store
        self._otp = otp
        self._clock = clock
        self._policy = policy
        self._guard = guard
        self._history = history
        self._verify_password = verify_password
        self._new_id = new_id
        self._new_token = new_token
        self._subscribers = subscribers or _NoRegistry()

    async def begin(self, request: LoginStart) -> LoginStarted:
        assert isinstance(request, PasswordLoginStart)
        command = request
        login_name = command.username.strip()
        account = await self._store.accounts.find_by_login_name(login_name)
        # Throttles, lock and captcha come before any password is checked, the same for a
        # name that has no account; an account's names share one budget.
        admission = await self._guard.admit(login_name, command.ip, command.captcha,
                                            account.account_id if account else None)
        # An unknown user is verified against a dummy hash: same time, same answer.
        password_hash = account.password_hash if account else None
        if not await self._verify_password(password_hash, command.password) or account is None:
            await self._history.failed(account_id=account.account_id if account else None,
                                       login_id=self._new_id(), method=self.method,
                                       reason=InvalidCredentials.code, ip=command.ip,
                                       user_agent=command.user_agent)
            await self._guard.failed(admission)
            raise InvalidCredentials()
        await self._guard.succeeded(admission)
        if account.disabled_at is not None:
            # Said only to whoever knows the password: a stranger learns nothing more.
            raise AccountDisabled()
        phone = account.login_phone()
        token = self._new_token()
        now = self._clock()
        flow = LoginFlow(
            flow_id=self._new_id(), account_id=account.account_id, method=PASSWORD_METHOD,
            # A post-office account's one-time password must be changed before the OTP step.
            status="password_change_required" if account.must_change_password else "otp_sent",
            flow_token_hash=self._policy.flow_hash(token), phone=phone.phone,
            phone_id=phone.phone_id, created_at=now,
            expires_at=now + self._policy.login_flow_ttl, ip=command.ip,
            user_agent=command.user_agent,
        )
        # The flow exists before the code is sent, so every later answer can find it.
        await self._store.logins.add(flow)
        if flow.status == "password_change_required":
            return LoginStarted(id=flow.flow_id, flow_token=token, status=flow.status,
                                expires_at=iso(flow.expires_at))
        await self._guard.allow_otp_send(command.ip)
        sent = await self._otp.issue(flow.flow_id, LOGIN_PURPOSE, phone.phone)
        return LoginStarted(
            id=flow.flow_id,
            flow_token=token,
            status=flow.status,
            phone_masked=mask_phone(phone.phone),
            alternatives=[PhoneAlternative(phone_id=p.phone_id, phone_masked=mask_phone(p.phone))
                          for p in account.other_otp_phones(phone)],
            expires_at=iso(flow.expires_at),
            resend_available_at=sent.resend_available_at,
        )

    async def read(self, flow: AnyLoginFlow) -> LoginFlowView:
        assert isinstance(flow, LoginFlow)
        flow.ensure_readable(self._clock())
        return LoginFlowView(id=flow.flow_id, status=flow.status, method=flow.method,
                             phone_masked=mask_phone(flow.phone))

    async def resend_otp(self, flow: AnyLoginFlow, request: LoginStep) -> OtpResent:
        assert isinstance(flow, LoginFlow)
        flow.ensure_awaiting_otp(self._clock())
        await self._guard.allow_otp_send(request.ip)
        sent = await self._otp.issue(flow.otp_key(), LOGIN_PURPOSE, flow.otp_phone())
        return OtpResent(status="otp_sent", resend_available_at=sent.resend_available_at)

    async def submit_otp(self, flow: AnyLoginFlow, request: LoginOtp) -> LoginCompleted:
        assert isinstance(flow, LoginFlow)
        command = request
        flow.ensure_awaiting_otp(self._clock())
        await self._refuse_disabled(flow.account_id)
        ip = command.ip or flow.ip
        user_agent = command.user_agent or flow.user_agent
        try:
            # The code verifies only for the number this flow says it went to; that same
            # number is the one checked at the carrier and stored (the lost-phone code swap).
            verified = await self._otp.verify(flow.otp_key(), LOGIN_PURPOSE, flow.otp_phone(),
                                              command.code.strip())
            if verified.phone != flow.otp_phone():
                raise OtpRejected("otp_invalid", "Mã OTP không đúng.")
            if flow.new_phone is not None:
                await self._check_new_phone(flow)
        except (OtpRejected, SubscriberMismatch) as exc:
            await self._history.failed(account_id=flow.account_id, login_id=flow.flow_id,
                                       method=self.method, reason=exc.code, ip=ip,
                                       user_agent=user_agent)
            raise
        token = self._new_token()
        now = self._clock()
        session = open_session(
            session_id=self._new_id(), token_hash=self._policy.session_hash(token), flow=flow,
            level=self.level, policy=self._policy.session, now=now, ip=ip,
            user_agent=user_agent,
        )
        async with self._uow() as uow:
            # Conditional: of two requests carrying the same code, one completes the flow.
            if not await uow.logins.complete(flow.flow_id, session.session_id, now):
                raise FlowState()
            await uow.sessions.add(session)
            if flow.new_phone is not None:
                await self._replace_lost_phone(uow, flow, now)
            if flow.pending_password_hash is not None:
                await self._save_first_password(uow, flow, now)
            await self._history.add_success(uow, account_id=flow.account_id,
                                            login_id=flow.flow_id, method=flow.method,
                                            level=session.level, ip=ip,
                                            user_agent=user_agent, now=now)
            await uow.commit()
        log.info("login succeeded", account_id=flow.account_id, session_id=session.session_id)
        return LoginCompleted(status="completed", session_token=token,
                              session_id=session.session_id,
                              expires_at=iso(session.expires_at), level=session.level)

    async def _check_new_phone(self, flow: LoginFlow) -> None:
        """The new phone must be registered to the account holder at the carrier."""
        account = await self._store.accounts.get(flow.account_id)
        subscriber = await self._subscribers.find(flow.otp_phone())
        if account is None or not subscriber_is_owner(subscriber, account.identity):
            log.info("lost phone refused by the subscriber registry",
                     account_id=flow.account_id)
            raise SubscriberMismatch()

    async def _replace_lost_phone(self, uow: UnitOfWork, flow: LoginFlow,
                                  now: datetime) -> None:
        new_phone = flow.otp_phone()
        await uow.accounts.replace_phone(flow.account_id, flow.phone_id, new_phone, now)
        uow.emit(new_event(OtpPhoneReplaced(account_id=flow.account_id, phone_id=flow.phone_id,
                                            phone=new_phone),
                           correlation_id=flow.flow_id, occurred_at=now))

    async def _save_first_password(self, uow: UnitOfWork, flow: LoginFlow,
                                   now: datetime) -> None:
        """Post office: the password chosen at the first login, now that the OTP proved the
        phone; it replaces the one-time password."""
        assert flow.pending_password_hash is not None
        await uow.accounts.set_password(flow.account_id, flow.pending_password_hash)
        uow.emit(new_event(PasswordChanged(account_id=flow.account_id, reason="first_login"),
                           correlation_id=flow.flow_id, occurred_at=now))

    async def _refuse_disabled(self, account_id: str) -> None:
        """A login begun before an operator disabled the account does not finish after."""
        account = await self._store.accounts.get(account_id)
        if account is not None and account.disabled_at is not None:
            raise AccountDisabled()


class _NoRegistry:
    """Without a telco registry no new phone can be proven: every lookup finds nobody."""

    async def find(self, phone: str) -> Subscriber | None:
        return None
