"""What the level-2 methods (mobile, bhxh) share once the person is proven: an OTP to the
phone proves possession of it, and a password (its rule is profile's) makes the account.

    otp_sent ──(OTP verified)──▶ awaiting_password ──(password set)──▶ completed
        └──────────────┴──(account_exists at completion, too many wrong codes)──▶ failed

The otp service's OtpVerified and OtpFailed events are consumed as well (``OtpEvents``): if
our write after its synchronous answer was lost, the flow still moves on.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from services.registration.domain import throttle
from services.registration.domain.errors import (
    AccountExists,
    FlowNotFound,
    OtpRejected,
    TransactionConflict,
)
from services.registration.domain.fields import FieldErrors, require_text
from services.registration.domain.flow import RegistrationFlow, Status
from services.registration.domain.identity import Identity
from services.registration.domain.identity_keys import identity_key
from services.registration.domain.model import (
    FLOW_LIFETIME,
    OTP_PURPOSE,
    rfc3339,
    vietnam_today,
)
from services.registration.domain.ports import UnitOfWork
from services.registration.flows import Completion, FlowEvents, completion_events, failed_event
from services.registration.methods.base import Beginning, MethodBase, StartRequest, Step
from shared import crypto
from shared.contracts import registration as reg
from shared.contracts.fields import FlowRef
from shared.events import (
    Envelope,
    OtpFailed,
    OtpVerified,
    RegistrationRequested,
    new_event,
)
from shared.events.schemas import Identity as EventIdentity
from shared.events.schemas import SubjectType
from shared.logging import get_logger
from shared.phones import mask_phone

log = get_logger(__name__)

# Durable consumer names (docs/messaging.md): <service>-<purpose>.
OTP_VERIFIED_CONSUMER = "registration-otp-verified"
OTP_FAILED_CONSUMER = "registration-otp-failed"
# The otp service's OtpFailed reason after which the flow can never finish: the code is
# locked and no new code is issued for it.
_FATAL_OTP_REASON = "otp_attempts_exceeded"
# The otp service's answer for a code already used (or lapsed): never a counted wrong entry.
_USED_CODE = "otp_expired"
AFTER_COMPLETE_FAILPOINT = "registration.after_complete_commit"
# Two completions racing for one ID number conflict in the database; the loser retries and
# then meets the winner's identity row (account_exists).


class PhoneApplication(Protocol):
    """What a level-2 form declares, as its method read it."""

    @property
    def subject_type(self) -> SubjectType: ...

    @property
    def id_number(self) -> str: ...

    @property
    def phone(self) -> str: ...

    @property
    def email(self) -> str | None: ...


ApplicationT = TypeVar("ApplicationT", bound=PhoneApplication)


class PhoneOtpMethod(MethodBase, Generic[ApplicationT]):
    """A method whose person is proven at the start by an outside registry and whose phone an
    OTP proves. A method says how it reads its form (``parse``) and who the registry says the
    person is (``prove``)."""

    steps = frozenset({Step.SUBMIT_OTP, Step.RESEND_OTP, Step.SET_PASSWORD})

    # --- start -----------------------------------------------------------------------------

    def parse(self, request: StartRequest, today: date) -> ApplicationT:
        raise NotImplementedError

    async def prove(self, application: ApplicationT) -> Identity:
        """The identity an outside registry backs (asked outside any transaction: never hold
        one open across an HTTP call), or the method's refusal."""
        raise NotImplementedError

    async def begin(self, request: StartRequest, now: datetime) -> Beginning:
        application = self.parse(request, vietnam_today(now))
        await self.brake_starts(application.id_number, application.phone, now)
        identity = await self.prove(application)
        # Only once the registry backs the person: before, anyone could ask about any CCCD.
        # The number was typed as a CCCD/CMND: its typed key, never a passport's.
        await self.flows.refuse_duplicate(identity_key(None, identity.id_number))
        return await self.beginning(application.subject_type, identity, application.phone,
                              application.email, now)

    async def brake_starts(self, id_number: str, phone: str, now: datetime) -> None:
        """Counts this start per ID number and per phone before any registry is asked."""
        for budget in throttle.start_budgets(id_number, phone):
            # Keyed digests: the counters do not list who was asked about.
            key = crypto.keyed_hash(self.deps.flow_secret, budget.subject)
            count = await self.deps.start_attempts.hit(key, now, throttle.START_WINDOW)
            throttle.check(budget, count, now)

    async def beginning(self, subject_type: SubjectType, identity: Identity, phone: str,
                        email: str | None, now: datetime) -> Beginning:
        """The proven person's flow, and the event on which the otp service sends the code
        (no SMS before the commit)."""
        flow = RegistrationFlow(
            id=self.deps.new_id(), method=self.name, status=Status.OTP_SENT,
            subject_type=subject_type, created_at=now, expires_at=now + FLOW_LIFETIME,
            identity=identity, phone=phone, email=email)
        requested = new_event(
            RegistrationRequested(registration_id=flow.id, method=flow.method,
                                  subject_type=subject_type, phone=phone, purpose=OTP_PURPOSE),
            correlation_id=flow.id, occurred_at=now)
        # When the page may offer "Gửi lại OTP": otp's rule, as otp states it (the code itself
        # goes out on the event, after the commit).
        resend_after = timedelta(seconds=(await self.deps.otp.policy()).resend_interval_seconds)
        return Beginning(flow=flow, events=[requested],
                         answer={"phone_masked": mask_phone(phone),
                                 "resend_available_at": rfc3339(now + resend_after)})

    # --- steps -----------------------------------------------------------------------------

    async def submit_otp(self, flow: RegistrationFlow, request: reg.SubmitOtp) -> reg.StepDone:
        if flow.otp_step_done(self.deps.clock()):
            # A retry whose first answer was lost: where the flow is, no second verification
            # (the code is used; asking again would count a wrong entry or say "expired").
            return _step_done(flow.status)
        flow.require(Status.OTP_SENT, self.deps.clock())
        code = require_text(request.code, "code", "mã OTP")
        try:
            await self.deps.otp.verify(flow.id, OTP_PURPOSE, flow.proven_phone(), code)
        except OtpRejected as refused:
            # "Used" because the first try used it and lost its own write: the OtpVerified
            # consumer moves the flow; if it has, that is this step's success.
            if refused.code == _USED_CODE and (moved := await self._otp_done_meanwhile(
                    flow.id)) is not None:
                return _step_done(moved.status)
            raise
        await self._mark_otp_verified(flow)
        return _step_done(Status.AWAITING_PASSWORD)

    async def _otp_done_meanwhile(self, registration_id: str) -> RegistrationFlow | None:
        current = await self.flows.find(registration_id)
        return current if current is not None and current.otp_step_done(self.deps.clock()) \
            else None

    async def _mark_otp_verified(self, flow: RegistrationFlow) -> None:
        try:
            moved = await self.flows.advance(flow, Status.OTP_SENT, Status.AWAITING_PASSWORD)
        except TransactionConflict:
            # The OtpVerified consumer was moving the same flow at that instant (seen under
            # load, issue 12's chaos test): read below what it did.
            moved = None
        if moved is not None:
            return
        current = await self.flows.find(flow.id)
        # The OtpVerified consumer may have moved it first: that is success too.
        if current is None:
            raise FlowNotFound()
        if current.status != Status.AWAITING_PASSWORD:
            current.require(Status.OTP_SENT, self.deps.clock())

    async def resend_otp(self, flow: RegistrationFlow, request: FlowRef) -> reg.OtpResent:
        flow.require(Status.OTP_SENT, self.deps.clock())
        issued = await self.deps.otp.issue(flow.id, OTP_PURPOSE, flow.proven_phone())
        if flow.code:
            # A new code went out: the earlier delivery problem is no longer the news.
            async with self.deps.uow() as uow:
                await uow.registrations.transition(
                    flow.id, from_status=Status.OTP_SENT, to_status=Status.OTP_SENT,
                    now=self.deps.clock(), changes={"code": None})
                await uow.commit()
        return reg.OtpResent.model_validate({"status": str(Status.OTP_SENT),
                                             "resend_available_at": issued.resend_available_at})

    async def set_password(self, flow: RegistrationFlow,
                           request: reg.SetPassword) -> reg.RegistrationCompleted:
        if flow.status == Status.COMPLETED:
            # A retry whose first answer was lost: the same answer, nothing created again.
            return reg.RegistrationCompleted.model_validate(flow.completion())
        flow.require(Status.AWAITING_PASSWORD, self.deps.clock())
        password, confirmation = _password_fields(request)
        identity = flow.declared_identity()
        # profile checks its password rule and the confirmation, then keeps the hash: before
        # the completion commits, so AccountCreated never names a credential profile does not
        # hold; a retry after a crash here stages again (a new id, the old one unclaimed until
        # the TTL).
        credential_id = await self.deps.credentials.stage(
            flow.id, password, confirmation=confirmation, id_number=identity.id_number,
            phone=flow.proven_phone())
        account_id = self.deps.new_id()
        try:
            completed = await self.flows.complete(
                flow, Status.AWAITING_PASSWORD,
                lambda now: Completion(
                    account_id=account_id, changes={"level": self.level},
                    events=lambda done: self._completion_events(done, credential_id, now)))
        except AccountExists:
            await self.flows.fail(flow, Status.AWAITING_PASSWORD, AccountExists.code)
            raise
        if completed is None:
            completed = await self.flows.settled(flow, Status.AWAITING_PASSWORD)
        # Crash tests kill the process here: committed, events not yet relayed.
        self.deps.failpoint(AFTER_COMPLETE_FAILPOINT)
        log.info("registration completed", registration_id=flow.id,
                 account_id=completed.account_id)
        # completed.account_id: a parallel retry may have completed it with its own id.
        return reg.RegistrationCompleted.model_validate(completed.completion())

    def _completion_events(self, flow: RegistrationFlow, credential_id: str,
                           now: datetime) -> list[Envelope]:
        identity = flow.declared_identity()
        return completion_events(
            flow, now, EventIdentity(id_type=identity.id_type, id_number=identity.id_number,
                                     full_name=identity.full_name,
                                     birth_date=identity.birth_date.isoformat(),
                                     sex=identity.sex),
            credential_id=credential_id)


class OtpEvents(FlowEvents):
    """The otp service's facts about the codes of registration flows."""

    async def on_otp_verified(self, event: Envelope) -> None:
        """The otp service's fact, in case our write after its synchronous answer was lost."""
        verified: OtpVerified = event.parse(OtpVerified)
        if verified.purpose != OTP_PURPOSE:
            return

        async def move(uow: UnitOfWork) -> None:
            flow = await uow.registrations.get(verified.flow_id)
            if flow is not None and flow.phone == verified.phone:
                await uow.registrations.transition(
                    flow.id, from_status=Status.OTP_SENT,
                    to_status=Status.AWAITING_PASSWORD, now=self.flows.deps.clock())

        await self.once(OTP_VERIFIED_CONSUMER, event, move)

    async def on_otp_failed(self, event: Envelope) -> None:
        """The code of a flow could not be delivered (SMS refused, phone over its hourly
        limit): the flow stays at otp_sent, the person may ask for a resend, and GET says why
        (``code``). Too many wrong entries lock the code for good: the flow fails."""
        failed: OtpFailed = event.parse(OtpFailed)
        if failed.purpose != OTP_PURPOSE:
            return
        now = self.flows.deps.clock()
        fatal = failed.reason == _FATAL_OTP_REASON

        async def note(uow: UnitOfWork) -> None:
            moved = await uow.registrations.transition(
                failed.flow_id, from_status=Status.OTP_SENT,
                to_status=Status.FAILED if fatal else Status.OTP_SENT, now=now,
                changes={"code": failed.reason})
            if moved is not None and fatal:
                uow.emit(failed_event(moved, failed.reason, now, causation_id=event.id))

        await self.once(OTP_FAILED_CONSUMER, event, note)


def _step_done(status: Status) -> reg.StepDone:
    return reg.StepDone.model_validate({"status": str(status)})


def _password_fields(request: reg.SetPassword) -> tuple[str, str]:
    errors = FieldErrors()
    values = []
    for name, label, value in (
            ("password", "mật khẩu", request.password),
            ("password_confirmation", "mật khẩu nhập lại", request.password_confirmation)):
        if not value:
            errors.add(name, f"Vui lòng nhập {label}.")
        values.append(value or "")
    errors.raise_if_any()
    return values[0], values[1]
