"""Use cases of registration: RPC commands and consumed events in, state and events out.

Each use case takes its ports (unit of work, telco registry, otp service) and the clock from
``Dependencies``; nothing here knows Mongo, NATS or HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.registration.conflicts import retrying_conflicts
from services.registration.domain import password_policy, throttle
from services.registration.domain.errors import (
    AccountExists,
    FlowExpired,
    FlowNotFound,
    OtpRejected,
    PasswordMismatch,
    PasswordPolicyViolation,
    TransactionConflict,
)
from services.registration.domain.fields import FieldErrors, require_text
from services.registration.domain.identity import Identity
from services.registration.domain.identity_keys import event_identity_key, identity_key
from services.registration.domain.methods import bhxh, choose_method, mobile
from services.registration.domain.model import (
    FLOW_LIFETIME,
    OTP_PURPOSE,
    RESEND_DELAY,
    IdentityRecord,
    Registration,
    Status,
    rfc3339,
    vietnam_today,
)
from services.registration.domain.phone import national_digits
from services.registration.domain.ports import (
    AttemptCounter,
    CredentialOwner,
    InsuranceRegistry,
    OtpGateway,
    SubscriberRegistry,
    UnitOfWork,
)
from shared import crypto
from shared.clock import Clock
from shared.events import (
    AccountCreated,
    Envelope,
    OtpFailed,
    OtpVerified,
    RegistrationCompleted,
    RegistrationFailed,
    RegistrationRequested,
    new_event,
)
from shared.events.schemas import Identity as EventIdentity
from shared.events.schemas import SubjectType
from shared.logging import get_logger
from shared.phones import mask_phone
from shared.storage import AlreadyProcessed

log = get_logger(__name__)

# Durable consumer names (docs/messaging.md): <service>-<purpose>.
OTP_VERIFIED_CONSUMER = "registration-otp-verified"
ACCOUNT_CREATED_CONSUMER = "registration-account-created"
OTP_FAILED_CONSUMER = "registration-otp-failed"
# The otp service's OtpFailed reason after which the flow can never finish: the code is
# locked and no new code is issued for it.
_FATAL_OTP_REASON = "otp_attempts_exceeded"
# The otp service's answer for a code already used (or lapsed): never a counted wrong entry.
_USED_CODE = "otp_expired"
AFTER_COMPLETE_FAILPOINT = "registration.after_complete_commit"
# Two completions racing for one ID number conflict in the database; the loser retries and
# then meets the winner's identity row (account_exists).


def _no_failpoint(_name: str) -> None:
    return None


@dataclass
class Dependencies:
    uow: Callable[[], UnitOfWork]
    subscribers: SubscriberRegistry
    insurance: InsuranceRegistry
    otp: OtpGateway
    clock: Clock
    flow_secret: str
    start_attempts: AttemptCounter
    # profile hashes and keeps the password (issue 11): no credential rides AccountCreated.
    credentials: CredentialOwner
    failpoint: Callable[[str], None] = _no_failpoint
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))


class RegistrationHandlers:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    # --- RPC endpoints ---------------------------------------------------------------------

    async def start(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        now = self.deps.clock()
        method = choose_method(payload)
        if method == bhxh.METHOD:
            application = await self._bhxh_application(payload, now)
        else:
            application = await self._mobile_application(payload, now)

        token = crypto.new_token()
        registration = Registration(
            id=self.deps.new_id(),
            status=Status.OTP_SENT,
            method=method,
            subject_type=application.subject_type,
            identity=application.identity,
            phone=application.phone,
            email=application.email,
            flow_token_hash=crypto.keyed_hash(self.deps.flow_secret, token),
            created_at=now,
            expires_at=now + FLOW_LIFETIME,
        )
        async with self.deps.uow() as uow:
            await uow.registrations.add(registration)
            # The otp service consumes this and sends the code: no SMS before the commit.
            uow.emit(new_event(
                RegistrationRequested(registration_id=registration.id, method=registration.method,
                                      subject_type=application.subject_type,
                                      phone=registration.phone, purpose=OTP_PURPOSE),
                correlation_id=registration.id, occurred_at=now))
            await uow.commit()
        log.info("registration started", registration_id=registration.id, method=registration.method)
        return {
            "id": registration.id,
            "flow_token": token,  # returned this once; only its keyed hash is stored
            "status": str(registration.status),
            "expires_at": rfc3339(registration.expires_at),
            "phone_masked": mask_phone(registration.phone),
            "resend_available_at": rfc3339(now + RESEND_DELAY),
        }

    async def _mobile_application(self, payload: Mapping[str, Any],
                                  now: datetime) -> ProvenApplication:
        application = mobile.parse_application(payload, vietnam_today(now))
        await self._brake_starts(application.identity.id_number, application.phone, now)
        # Outside any transaction: never hold one open across an HTTP call.
        mobile.check_subscriber(application, await self.deps.subscribers.find(application.phone))
        # Only once the carrier backs the person: before, anyone could ask about any CCCD.
        await self._refuse_duplicate(application.identity.id_number)
        return ProvenApplication(application.subject_type, application.identity,
                                 application.phone, application.email)

    async def _bhxh_application(self, payload: Mapping[str, Any],
                                now: datetime) -> ProvenApplication:
        application = bhxh.parse_application(payload, vietnam_today(now))
        await self._brake_starts(application.id_number, application.phone, now)
        record = await self.deps.insurance.find(application.bhxh_code)
        identity = bhxh.proven_identity(application, record)
        if not bhxh.phone_on_record(application, record):
            bhxh.check_phone_at_carrier(identity,
                                        await self.deps.subscribers.find(application.phone))
        # The ID number of the record, as FLOWS.md asks (equal to the declared one by now),
        # and only once record and phone back the person (else it answers strangers).
        await self._refuse_duplicate(identity.id_number)
        return ProvenApplication(application.subject_type, identity, application.phone, None)

    async def _brake_starts(self, id_number: str, phone: str, now: datetime) -> None:
        """Counts this start per ID number and per phone before any registry is asked."""
        for budget in throttle.start_budgets(id_number, phone):
            # Keyed digests: the counters do not list who was asked about.
            key = crypto.keyed_hash(self.deps.flow_secret, budget.subject)
            count = await self.deps.start_attempts.hit(key, now, throttle.START_WINDOW)
            throttle.check(budget, count, now)

    async def _refuse_duplicate(self, id_number: str) -> None:
        # A friendly answer after the outside match; the unique index at completion is what
        # guarantees one account per person.
        # The number was typed as a CCCD/CMND: its typed key, never a passport's.
        async with self.deps.uow() as uow:
            if await uow.identities.exists(identity_key(None, id_number)):
                raise AccountExists()

    async def get(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        registration = await self._load(payload)
        if registration.answers_expired(self.deps.clock()):
            raise FlowExpired()
        # A finished flow stays readable (its outcome) until the TTL index purges it.
        return registration.view()

    async def submit_otp(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        registration = await self._load(payload)
        if registration.otp_step_done(self.deps.clock()):
            # A retry whose first answer was lost: where the flow is, no second verification
            # (the code is used; asking again would count a wrong entry or say "expired").
            return {"status": str(registration.status)}
        registration.require(Status.OTP_SENT, self.deps.clock())
        code = require_text(payload, "code", "mã OTP")
        try:
            await self.deps.otp.verify(registration.id, OTP_PURPOSE, registration.phone, code)
        except OtpRejected as refused:
            # "Used" because the first try used it and lost its own write: the OtpVerified
            # consumer moves the flow; if it has, that is this step's success.
            if refused.code == _USED_CODE and (moved := await self._otp_done_meanwhile(
                    registration.id)) is not None:
                return {"status": str(moved.status)}
            raise
        await self._mark_otp_verified(registration.id)
        return {"status": str(Status.AWAITING_PASSWORD)}

    async def _otp_done_meanwhile(self, registration_id: str) -> Registration | None:
        async with self.deps.uow() as uow:
            current = await uow.registrations.get(registration_id)
        return current if current is not None and current.otp_step_done(self.deps.clock()) \
            else None

    async def resend_otp(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        registration = await self._load(payload)
        registration.require(Status.OTP_SENT, self.deps.clock())
        issued = await self.deps.otp.issue(registration.id, OTP_PURPOSE, registration.phone)
        if registration.code:
            # A new code went out: the earlier delivery problem is no longer the news.
            await self._note_otp_problem(registration.id, None)
        return {"status": str(Status.OTP_SENT), "resend_available_at": issued.resend_available_at}

    async def set_password(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        registration = await self._load(payload)
        if registration.status == Status.COMPLETED:
            # A retry whose first answer was lost: the same answer, nothing created again.
            return registration.completion()
        registration.require(Status.AWAITING_PASSWORD, self.deps.clock())
        password, confirmation = _password_fields(payload)
        problems = password_policy.problems(
            password, id_number=registration.identity.id_number,
            phone_digits=national_digits(registration.phone))
        if problems:
            raise PasswordPolicyViolation(problems)
        if password != confirmation:
            raise PasswordMismatch()
        # Before the completion commits, so AccountCreated never names a credential profile
        # does not hold; a retry after a crash here stages again (a new id, the old one
        # unclaimed until the TTL).
        credential_id = await self.deps.credentials.stage(registration.id, password)
        account_id = self.deps.new_id()
        try:
            completed = await self._complete(registration, account_id, credential_id)
        except AccountExists:
            await self._fail(registration, AccountExists.code)
            raise
        # Crash tests kill the process here: committed, events not yet relayed.
        self.deps.failpoint(AFTER_COMPLETE_FAILPOINT)
        log.info("registration completed", registration_id=registration.id, account_id=account_id)
        # completed.account_id: a parallel retry may have completed it with its own id.
        return completed.completion()

    # --- consumed events -------------------------------------------------------------------

    async def on_otp_verified(self, event: Envelope) -> None:
        """The otp service's fact, in case our write after its synchronous answer was lost."""
        verified: OtpVerified = event.parse(OtpVerified)
        if verified.purpose != OTP_PURPOSE:
            return
        async with self.deps.uow() as uow:
            try:
                await uow.mark_processed(OTP_VERIFIED_CONSUMER, event.id)
            except AlreadyProcessed:
                return
            registration = await uow.registrations.get(verified.flow_id)
            if registration is not None and registration.phone == verified.phone:
                await uow.registrations.transition(
                    registration.id, from_status=Status.OTP_SENT,
                    to_status=Status.AWAITING_PASSWORD, now=self.deps.clock())
            await uow.commit()

    async def on_otp_failed(self, event: Envelope) -> None:
        """The code of a flow could not be delivered (SMS refused, phone over its hourly
        limit): the flow stays at otp_sent, the person may ask for a resend, and GET says why
        (``code``). Too many wrong entries lock the code for good: the flow fails."""
        failed: OtpFailed = event.parse(OtpFailed)
        if failed.purpose != OTP_PURPOSE:
            return
        now = self.deps.clock()
        async with self.deps.uow() as uow:
            try:
                await uow.mark_processed(OTP_FAILED_CONSUMER, event.id)
            except AlreadyProcessed:
                return
            fatal = failed.reason == _FATAL_OTP_REASON
            moved = await uow.registrations.transition(
                failed.flow_id, from_status=Status.OTP_SENT,
                to_status=Status.FAILED if fatal else Status.OTP_SENT, now=now,
                changes={"code": failed.reason})
            if moved is not None and fatal:
                uow.emit(new_event(
                    RegistrationFailed(registration_id=moved.id, method=moved.method,
                                       code=failed.reason),
                    correlation_id=moved.id, causation_id=event.id, occurred_at=now))
            await uow.commit()

    async def _note_otp_problem(self, registration_id: str, code: str | None) -> None:
        async with self.deps.uow() as uow:
            await uow.registrations.transition(
                registration_id, from_status=Status.OTP_SENT, to_status=Status.OTP_SENT,
                now=self.deps.clock(), changes={"code": code})
            await uow.commit()

    async def on_account_created(self, event: Envelope) -> None:
        """Feeds the duplicate-check projection from every account created anywhere."""
        created: AccountCreated = event.parse(AccountCreated)
        async with self.deps.uow() as uow:
            try:
                await uow.mark_processed(ACCOUNT_CREATED_CONSUMER, event.id)
            except AlreadyProcessed:
                return
            await uow.identities.ensure(IdentityRecord(
                key=event_identity_key(created.subject_type, created.identity.id_type,
                                       created.identity.id_number),
                account_id=created.account_id,
                subject_type=created.subject_type, created_at=self.deps.clock(),
                registration_id=created.registration_id))
            await uow.commit()

    # --- steps -----------------------------------------------------------------------------

    async def _load(self, payload: Mapping[str, Any]) -> Registration:
        """The flow named by ``id`` if ``flow_token`` is its token; otherwise not_found,
        whichever of the two was wrong."""
        registration_id, token = payload.get("id"), payload.get("flow_token")
        if not isinstance(registration_id, str) or not isinstance(token, str) or not token:
            raise FlowNotFound()
        candidate = crypto.keyed_hash(self.deps.flow_secret, token)
        async with self.deps.uow() as uow:
            registration = await uow.registrations.get(registration_id)
        if registration is None or not crypto.same(registration.flow_token_hash, candidate):
            raise FlowNotFound()
        return registration

    async def _mark_otp_verified(self, registration_id: str) -> None:
        now = self.deps.clock()
        try:
            async with self.deps.uow() as uow:
                moved = await uow.registrations.transition(
                    registration_id, from_status=Status.OTP_SENT,
                    to_status=Status.AWAITING_PASSWORD, now=now)
                await uow.commit()
        except TransactionConflict:
            # The OtpVerified consumer was moving the same flow at that instant (seen under
            # load, issue 12's chaos test): read below what it did.
            moved = None
        if moved is not None:
            return
        async with self.deps.uow() as uow:
            current = await uow.registrations.get(registration_id)
        # The OtpVerified consumer may have moved it first: that is success too.
        if current is None:
            raise FlowNotFound()
        if current.status != Status.AWAITING_PASSWORD:
            current.require(Status.OTP_SENT, now)

    async def _complete(self, registration: Registration, account_id: str,
                        credential_id: str) -> Registration:
        """One unit: the flow completes, the ID number is taken, the account is announced."""
        async def unit() -> Registration | None:
            now = self.deps.clock()
            async with self.deps.uow() as uow:
                completed = await uow.registrations.transition(
                    registration.id, from_status=Status.AWAITING_PASSWORD,
                    to_status=Status.COMPLETED, now=now,
                    changes={"account_id": account_id, "level": mobile.LEVEL,
                             "completed_at": now})
                if completed is None:
                    return None
                await uow.identities.add(IdentityRecord(
                    key=completed.identity.key, account_id=account_id,
                    subject_type=completed.subject_type, created_at=now,
                    registration_id=completed.id))
                for event in _completion_events(completed, account_id, credential_id, now):
                    uow.emit(event)
                await uow.commit()
                return completed

        if (completed := await retrying_conflicts(unit)) is not None:
            return completed
        # Not at awaiting_password any more (a parallel call completed it, or it expired).
        async with self.deps.uow() as uow:
            current = await uow.registrations.get(registration.id)
        if current is None:
            raise FlowNotFound()
        if current.status == Status.COMPLETED:
            return current  # a parallel try (a retry of this step) completed it: same answer
        current.require(Status.AWAITING_PASSWORD, self.deps.clock())
        raise AssertionError("unreachable: require() raised")

    async def _fail(self, registration: Registration, code: str) -> None:
        now = self.deps.clock()
        async with self.deps.uow() as uow:
            failed = await uow.registrations.transition(
                registration.id, from_status=Status.AWAITING_PASSWORD, to_status=Status.FAILED,
                now=now, changes={"code": code}, only_if_live=False)
            if failed is not None:
                uow.emit(new_event(
                    RegistrationFailed(registration_id=registration.id, method=registration.method,
                                       code=code),
                    correlation_id=registration.id, occurred_at=now))
            await uow.commit()
        log.info("registration failed", registration_id=registration.id, code=code)


@dataclass(frozen=True)
class ProvenApplication:
    """What every method hands to the common part of ``start``: who, proven how far the
    method's external check goes, and where the OTP goes."""

    subject_type: SubjectType
    identity: Identity
    phone: str
    email: str | None


def _password_fields(payload: Mapping[str, Any]) -> tuple[str, str]:
    errors = FieldErrors()
    values = []
    for name, label in (("password", "mật khẩu"), ("password_confirmation", "mật khẩu nhập lại")):
        value = payload.get(name)
        if not isinstance(value, str) or not value:
            errors.add(name, f"Vui lòng nhập {label}.")
        values.append(value if isinstance(value, str) else "")
    errors.raise_if_any()
    return values[0], values[1]


def _completion_events(registration: Registration, account_id: str, credential_id: str,
                       now: datetime) -> list[Envelope]:
    created = AccountCreated(
        account_id=account_id,
        registration_id=registration.id,
        subject_type=registration.subject_type,
        method=registration.method,
        level=mobile.LEVEL,
        identity=EventIdentity(
            id_type=registration.identity.id_type,
            id_number=registration.identity.id_number,
            full_name=registration.identity.full_name,
            birth_date=registration.identity.birth_date.isoformat(),
            sex=registration.identity.sex,
        ),
        phone=registration.phone,
        email=registration.email,
        credential_id=credential_id,
        created_at=rfc3339(now),
    )
    account_event = new_event(created, correlation_id=registration.id, occurred_at=now)
    completed = RegistrationCompleted(registration_id=registration.id, account_id=account_id,
                                      method=registration.method, level=mobile.LEVEL)
    return [
        account_event,
        new_event(completed, correlation_id=registration.id, causation_id=account_event.id,
                  occurred_at=now),
    ]
