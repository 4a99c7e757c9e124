"""Use cases of the profile service: an account from AccountCreated, the password + OTP
login, sessions (authenticate, me, logout).

Every dependency comes in through the constructor (ports, clock, secrets), so the unit tests
run these rules against in-memory fakes and a frozen clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.profile.domain.commands import (
    FlowAction,
    FlowRef,
    SessionRef,
    StartLogin,
    SubmitLoginOtp,
    parse,
)
from services.profile.domain.errors import (
    AccountDisabled,
    CredentialMissing,
    FlowState,
    InvalidCredentials,
    NotFound,
    OtpRejected,
    SubscriberMismatch,
    Unauthenticated,
    ValidationFailed,
)
from services.profile.domain.models import (
    PASSWORD_METHOD,
    PASSWORD_OTP_LEVEL,
    Account,
    Identity,
    LoginFlow,
    LoginRecord,
    LoginResult,
    Session,
    SessionPolicy,
    Subscriber,
    open_account,
    open_session,
    subscriber_is_owner,
)
from services.profile.domain.ports import OtpService, Store, SubscriberRegistry, UnitOfWork
from services.profile.guard import LoginGuard
from shared import crypto
from shared.clock import Clock
from shared.events import (
    AccountActivated,
    AccountCreated,
    Envelope,
    LoginFailed,
    LoginSucceeded,
    OtpPhoneReplaced,
    PasswordChanged,
    SessionRevoked,
    new_event,
)
from shared.failpoints import Failpoints
from shared.logging import get_logger
from shared.phones import mask_phone
from shared.storage import AlreadyProcessed

log = get_logger(__name__)

ACCOUNT_CREATED_CONSUMER = "profile-account-created"
ACCOUNT_COMMITTED_FAILPOINT = "profile.after_account_commit"
LOGIN_PURPOSE = "login"
# Facts about a signature method that AccountCreated may carry (extra fields of the payload).
_CERTIFICATE_FIELDS = ("fingerprint_sha256", "serial", "issuer")

PasswordVerifier = Callable[[str | None, str], Awaitable[bool]]


@dataclass(frozen=True)
class ProfilePolicy:
    session_secret: str
    flow_secret: str
    session: SessionPolicy
    login_flow_ttl: timedelta


def _new_id() -> str:
    return str(uuid.uuid4())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class Profile:
    def __init__(self, *, uow: Callable[[], UnitOfWork], store: Store, otp: OtpService,
                 clock: Clock, policy: ProfilePolicy, failpoints: Failpoints | None = None,
                 verify_password: PasswordVerifier = crypto.verify_password,
                 new_id: Callable[[], str] = _new_id,
                 new_token: Callable[[], str] = crypto.new_token,
                 guard: LoginGuard, subscribers: SubscriberRegistry | None = None) -> None:
        self._uow = uow
        self._guard = guard
        self._subscribers = subscribers or _NoRegistry()
        self._store = store
        self._otp = otp
        self._clock = clock
        self._policy = policy
        self._failpoints = failpoints or Failpoints()
        self._verify_password = verify_password
        self._new_id = new_id
        self._new_token = new_token

    @property
    def guard(self) -> LoginGuard:
        return self._guard

    # --- accounts --------------------------------------------------------------------------

    async def on_account_created(self, event: Envelope) -> None:
        """Creates the account once, however often the event is delivered or replayed."""
        data: AccountCreated = event.parse(AccountCreated)
        async with self._uow() as uow:
            try:
                await uow.mark_processed(ACCOUNT_CREATED_CONSUMER, event.id)
            except AlreadyProcessed:
                return
            # Another event announcing the same account (a re-emitted fact) creates nothing;
            # the unique _id is the last guard against a concurrent twin.
            if await uow.accounts.get(data.account_id) is None:
                password_hash = await _take_credential(uow, data)
                await uow.accounts.add(self._account_from(data, password_hash))
            # In the same transaction: the account is usable once this fact is out, and the
            # registration saga answers "completed" only then (read-your-writes, issue 12).
            uow.emit(new_event(
                AccountActivated(account_id=data.account_id,
                                 registration_id=data.registration_id),
                correlation_id=event.correlation_id, causation_id=event.id,
                occurred_at=self._clock()))
            await uow.commit()
        # A crash test kills the process here: committed, not yet acknowledged.
        self._failpoints.hit(ACCOUNT_COMMITTED_FAILPOINT)
        log.info("account created", account_id=data.account_id, event_id=event.id)

    def _account_from(self, data: AccountCreated, password_hash: str | None) -> Account:
        extra = data.model_extra or {}
        account = self._open_account(data, extra, password_hash)
        # Post office (additive fields): the issued username and the one-time password mark.
        if isinstance(extra.get("username"), str):
            account.username = extra["username"]
        account.must_change_password = extra.get("must_change_password") is True
        return account

    def _open_account(self, data: AccountCreated, extra: dict[str, Any],
                      password_hash: str | None) -> Account:
        return open_account(
            account_id=data.account_id, registration_id=data.registration_id,
            subject_type=data.subject_type, method=data.method, level=data.level,
            identity=Identity(id_number=data.identity.id_number,
                              full_name=data.identity.full_name,
                              birth_date=data.identity.birth_date, sex=data.identity.sex,
                              tax_code=(data.identity.model_extra or {}).get("tax_code"),
                              id_type=data.identity.id_type),
            phone=data.phone, email=data.email, password_hash=password_hash,
            created_at=_parse_time(data.created_at),
            certificate=data.certificate or {k: extra[k] for k in _CERTIFICATE_FIELDS
                                             if k in extra},
            new_id=self._new_id,
        )

    # --- login flow ------------------------------------------------------------------------

    async def login_start(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(StartLogin, payload)
        account = await self._store.accounts.find_by_login_name(command.login_name())
        # Throttles, lock and captcha come before any password is checked, the same for a
        # name that has no account; an account's names share one budget.
        admission = await self._guard.admit(command.login_name(), command.ip, command.captcha,
                                            account.account_id if account else None)
        # An unknown user is verified against a dummy hash: same time, same answer.
        password_hash = account.password_hash if account else None
        if not await self._verify_password(password_hash, command.password) or account is None:
            await self._record_failure(account_id=account.account_id if account else None,
                                       login_id=self._new_id(), reason=InvalidCredentials.code,
                                       ip=command.ip, user_agent=command.user_agent)
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
            flow_token_hash=self._flow_hash(token), phone=phone.phone,
            phone_id=phone.phone_id, created_at=now,
            expires_at=now + self._policy.login_flow_ttl, ip=command.ip,
            user_agent=command.user_agent,
        )
        # The flow exists before the code is sent, so every later answer can find it.
        await self._store.logins.add(flow)
        if flow.status == "password_change_required":
            return {"id": flow.flow_id, "flow_token": token, "status": flow.status,
                    "expires_at": _iso(flow.expires_at)}
        await self._guard.allow_otp_send(command.ip)
        sent = await self._otp.issue(flow.flow_id, LOGIN_PURPOSE, phone.phone)
        return {
            "id": flow.flow_id,
            "flow_token": token,
            "status": flow.status,
            "phone_masked": mask_phone(phone.phone),
            "alternatives": [{"phone_id": p.phone_id, "phone_masked": mask_phone(p.phone)}
                             for p in account.other_otp_phones(phone)],
            "expires_at": _iso(flow.expires_at),
            "resend_available_at": sent.get("resend_available_at"),
        }

    async def login_get(self, payload: dict[str, Any]) -> dict[str, Any]:
        ref = parse(FlowRef, payload)
        flow = await self._flow(ref)
        flow.ensure_readable(self._clock())
        return {"id": flow.flow_id, "status": flow.status, "method": flow.method,
                "phone_masked": mask_phone(flow.phone)}

    async def login_resend_otp(self, payload: dict[str, Any]) -> dict[str, Any]:
        ref = parse(FlowAction, payload)
        flow = await self._flow(ref)
        flow.ensure_awaiting_otp(self._clock())
        await self._guard.allow_otp_send(ref.ip)
        sent = await self._otp.issue(flow.otp_key(), LOGIN_PURPOSE, flow.otp_phone())
        return {"status": "otp_sent", "resend_available_at": sent.get("resend_available_at")}

    async def login_submit_otp(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(SubmitLoginOtp, payload)
        flow = await self._flow(command)
        flow.ensure_awaiting_otp(self._clock())
        await self._refuse_disabled(flow.account_id)
        ip = command.ip or flow.ip
        user_agent = command.user_agent or flow.user_agent
        try:
            # The code verifies only for the number this flow says it went to; that same
            # number is the one checked at the carrier and stored (the lost-phone code swap).
            verified = await self._otp.verify(flow.otp_key(), LOGIN_PURPOSE, flow.otp_phone(),
                                              command.code)
            if verified.get("phone") != flow.otp_phone():
                raise OtpRejected("otp_invalid", "Mã OTP không đúng.")
            if flow.new_phone is not None:
                await self._check_new_phone(flow)
        except (OtpRejected, SubscriberMismatch) as exc:
            await self._record_failure(account_id=flow.account_id, login_id=flow.flow_id,
                                       reason=exc.code, ip=ip, user_agent=user_agent)
            raise
        token = self._new_token()
        now = self._clock()
        session = open_session(
            session_id=self._new_id(), token_hash=self._session_hash(token), flow=flow,
            level=PASSWORD_OTP_LEVEL, policy=self._policy.session, now=now, ip=ip,
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
            await uow.history.add(self._record(flow.account_id, flow.flow_id, "success",
                                               None, ip, user_agent, now))
            uow.emit(new_event(
                LoginSucceeded(account_id=flow.account_id, login_id=flow.flow_id,
                               method=flow.method, level=session.level, ip=ip,
                               user_agent=user_agent),
                correlation_id=flow.flow_id, occurred_at=now))
            await uow.commit()
        log.info("login succeeded", account_id=flow.account_id, session_id=session.session_id)
        return {"status": "completed", "session_token": token,
                "session_id": session.session_id, "expires_at": _iso(session.expires_at),
                "level": session.level}

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

    async def _flow(self, ref: FlowRef) -> LoginFlow:
        """The flow, only for the holder of its token: otherwise it does not exist."""
        flow = await self._store.logins.get(ref.id)
        if flow is None or not crypto.same(self._flow_hash(ref.flow_token),
                                           flow.flow_token_hash):
            raise NotFound()
        return flow

    # --- sessions --------------------------------------------------------------------------

    async def authenticate(self, payload: dict[str, Any]) -> dict[str, Any]:
        session = await self._live_session(payload)
        return {"account_id": session.account_id, "session_id": session.session_id,
                "level": session.level, "expires_at": _iso(session.expires_at)}

    async def me(self, payload: dict[str, Any]) -> dict[str, Any]:
        session = await self._live_session(payload)
        account = await self._store.accounts.get(session.account_id)
        if account is None:
            raise Unauthenticated()
        return {
            "account_id": account.account_id,
            "subject_type": account.subject_type,
            "level": account.level,
            "identity": account.identity.to_dict(),
            "contacts": {
                "phones": [{"phone_id": p.phone_id, "phone_masked": mask_phone(p.phone),
                            "otp": p.otp} for p in account.phones],
                # The owner sees their own email in full.
                "email": account.email,
                "address": account.address,
            },
        } | _staff_view(account)

    async def logout(self, payload: dict[str, Any]) -> dict[str, Any]:
        token_hash = self._session_hash(_session_token(payload))
        now = self._clock()
        async with self._uow() as uow:
            session = await uow.sessions.revoke(token_hash, now)
            if session is None:
                return {}  # unknown or already ended: logging out twice is not an error
            uow.emit(new_event(
                SessionRevoked(account_id=session.account_id, session_id=session.session_id,
                               reason="logout"),
                correlation_id=session.login_id, occurred_at=now))
            await uow.commit()
        return {}

    async def _refuse_disabled(self, account_id: str) -> None:
        """A login begun before an operator disabled the account does not finish after."""
        account = await self._store.accounts.get(account_id)
        if account is not None and account.disabled_at is not None:
            raise AccountDisabled()

    async def live_session(self, payload: dict[str, Any]) -> Session:
        """The caller's live session (touched), for this service's other use cases."""
        return await self._live_session(payload)

    async def _live_session(self, payload: dict[str, Any]) -> Session:
        token_hash = self._session_hash(_session_token(payload))
        now = self._clock()
        # One atomic update whose filter holds every condition: an expired or revoked session
        # is never revived by a late touch.
        session = await self._store.sessions.touch(token_hash, now,
                                                   self._policy.session.idle_expiry(now))
        if session is None:
            raise Unauthenticated()
        return session

    # --- history ---------------------------------------------------------------------------

    async def _record_failure(self, *, account_id: str | None, login_id: str, reason: str,
                              ip: str | None, user_agent: str | None) -> None:
        now = self._clock()
        async with self._uow() as uow:
            await uow.history.add(self._record(account_id, login_id, "failure", reason, ip,
                                               user_agent, now))
            uow.emit(new_event(
                LoginFailed(login_id=login_id, method=PASSWORD_METHOD, reason=reason,
                            account_id=account_id, ip=ip, user_agent=user_agent),
                correlation_id=login_id, occurred_at=now))
            await uow.commit()
        log.info("login failed", account_id=account_id, reason=reason)

    def _record(self, account_id: str | None, login_id: str, result: LoginResult,
                reason: str | None,
                ip: str | None, user_agent: str | None, now: datetime) -> LoginRecord:
        return LoginRecord(record_id=self._new_id(), account_id=account_id, login_id=login_id,
                           at=now, method=PASSWORD_METHOD, result=result, reason=reason,
                           ip=ip, user_agent=user_agent)

    def _flow_hash(self, token: str) -> str:
        return crypto.keyed_hash(self._policy.flow_secret, token)

    def _session_hash(self, token: str) -> str:
        return crypto.keyed_hash(self._policy.session_secret, token)


async def _take_credential(uow: UnitOfWork, data: AccountCreated) -> str | None:
    """The password hash the account starts with: the staged credential the event names,
    taken in the transaction that creates the account (domain/credentials.py). Events from
    before issue 11 carried the hash itself (an extra field now): still honoured, so events
    in flight across the upgrade lose no account."""
    if data.credential_id is None:
        legacy = (data.model_extra or {}).get("password_hash")
        return legacy if isinstance(legacy, str) else None
    password_hash = await uow.credentials.take(data.credential_id, data.registration_id)
    if password_hash is None:
        log.error("staged credential missing", account_id=data.account_id,
                  registration_id=data.registration_id)
        raise CredentialMissing()
    return password_hash


class _NoRegistry:
    """Without a telco registry no new phone can be proven: every lookup finds nobody."""

    async def find(self, phone: str) -> Subscriber | None:
        return None


def _staff_view(account: Account) -> dict[str, Any]:
    """Additive ``me`` fields of operator-made accounts: roles (agent) and organisation
    (the post office of an agent, the agency of an agency account)."""
    view: dict[str, Any] = {}
    if account.roles:
        view["roles"] = list(account.roles)
    if account.organisation:
        view["organisation"] = dict(account.organisation)
    return view


def _session_token(payload: dict[str, Any]) -> str:
    """A missing or malformed token is simply not a session."""
    try:
        return parse(SessionRef, payload).session_token
    except ValidationFailed:
        raise Unauthenticated() from None


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
