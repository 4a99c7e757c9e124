"""Use cases of the otp service: issue a code, verify it, and issue on RegistrationRequested.

Order of ``issue`` (crash safety): first ONE transaction decides and stores the challenge
(the keyed hash of the new code, never the code), takes the phone's send slot, records the
consumed event id (consumer path) and puts OtpSent in the outbox; only after it commits is the
SMS sent, outside any transaction (no transaction is held open across a network call).

- A crash before the commit stores and sends nothing: the caller retries, or JetStream
  redelivers the event.
- A crash between the commit and the SMS leaves a stored code that nobody received; the user
  asks for a resend after RESEND_INTERVAL. Nothing is sent twice (a redelivered event is
  already marked processed).
- Sending first and storing afterwards could deliver a code that is never stored (a crash
  in between, or a refused write), which the user could never use: we never do that.

If the gateway refuses the SMS, a second transaction makes the stored code unusable and emits
OtpFailed; the caller gets ``sms_failed``. The send slot stays taken: it throttles the
gateway too.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime

from pydantic import ValidationError

from services.otp import metrics as otp_metrics
from services.otp.domain.commands import checked_code
from services.otp.domain.errors import (
    ChallengeNotFound,
    InvalidInput,
    OtpError,
    OtpInvalid,
    OtpResendTooSoon,
    OtpSendLimit,
    SmsFailed,
)
from services.otp.domain.model import (
    CODE_DIGITS,
    CODE_TTL,
    MAX_FAILURES,
    RESEND_INTERVAL,
    Challenge,
    ensure_can_send,
    hash_code,
    new_code,
    refusal,
    seconds_until,
    sms_body,
    storage_time,
)
from services.otp.domain.ports import (
    ChallengeStore,
    OtpUnitOfWork,
    SmsDeliveryError,
    SmsSender,
    Transactions,
)
from shared.clock import Clock
from shared.contracts.base import Empty
from shared.contracts.otp import IssuedOtp, IssueOtp, OtpPolicy, VerifiedOtp, VerifyOtp
from shared.events import (
    Envelope,
    OtpFailed,
    OtpSent,
    OtpVerified,
    RegistrationRequested,
    new_event,
)
from shared.failpoints import Failpoints
from shared.logging import get_logger
from shared.phones import mask_phone
from shared.storage import AlreadyProcessed

log = get_logger(__name__)

REGISTRATION_CONSUMER = "otp-registration-requested"


class OtpService:
    def __init__(
        self,
        transactions: Transactions,
        challenges: ChallengeStore,
        sms: SmsSender,
        clock: Clock,
        otp_secret: str,
        failpoints: Failpoints | None = None,
    ) -> None:
        self._transactions = transactions
        # Outside any transaction: verification counts wrong entries with one atomic update
        # each, so a hundred parallel guesses never abort one another.
        self._challenges = challenges
        self._sms = sms
        self._clock = clock
        self._secret = otp_secret
        self._failpoints = failpoints or Failpoints()

    # --- issue ---------------------------------------------------------------------------

    async def issue(self, command: IssueOtp, cause: Envelope | None = None,
                    consumer: str | None = None) -> IssuedOtp:
        """Stores a new code for ``(purpose, flow_id)``, then sends it by SMS.

        With ``cause`` and ``consumer`` the consumed event is recorded in the same
        transaction; a redelivery raises AlreadyProcessed and sends nothing.
        """
        now = storage_time(self._clock())
        code = new_code()

        async def store(uow: OtpUnitOfWork) -> Challenge:
            if cause is not None and consumer is not None:
                await uow.mark_processed(consumer, cause.id)
            challenge = await self._store_code(uow, command, code, now)
            uow.emit(new_event(
                OtpSent(flow_id=command.flow_id, purpose=command.purpose,
                        challenge_id=challenge.id,
                        expires_at=challenge.expires_at.isoformat()),
                correlation_id=command.flow_id, causation_id=_id_of(cause), occurred_at=now))
            return challenge

        challenge = await self._transactions.run(store)
        self._failpoints.hit("otp.before_sms")
        try:
            await self._sms.send(command.phone, sms_body(code, command.purpose))
        except SmsDeliveryError as exc:
            otp_metrics.otp_failed(command.purpose, exc)
            await self._withdraw(challenge, exc, cause)
            raise SmsFailed() from exc
        otp_metrics.otp_sent(command.purpose)
        log.info("otp sent", challenge_id=challenge.id, purpose=command.purpose,
                 flow_id=command.flow_id)
        return IssuedOtp(challenge_id=challenge.id, phone_masked=mask_phone(command.phone),
                         expires_at=challenge.expires_at.isoformat(),
                         resend_available_at=challenge.resend_available_at.isoformat())

    async def _store_code(self, uow: OtpUnitOfWork, command: IssueOtp, code: str,
                          now: datetime) -> Challenge:
        existing = await uow.challenges.find(command.purpose, command.flow_id)
        ensure_can_send(existing, now)
        slot_frees_at = await uow.send_counters.claim(command.phone, now)
        if slot_frees_at is not None:
            raise OtpSendLimit(seconds_until(slot_frees_at, now))
        expires_at = now + CODE_TTL
        if existing is None:
            challenge_id = str(uuid.uuid4())
            challenge = Challenge(
                id=challenge_id, purpose=command.purpose, flow_id=command.flow_id,
                phone=command.phone,
                code_hash=hash_code(self._secret, challenge_id, command.phone, code),
                sent_at=now, expires_at=expires_at)
            # A concurrent first issue for the same flow collides on the unique
            # (purpose, flow_id) index; the retried transaction then sees it as a resend.
            await uow.challenges.create(challenge)
            return challenge
        replaced = await uow.challenges.replace_code(
            existing.id, phone=command.phone,
            code_hash=hash_code(self._secret, existing.id, command.phone, code),
            sent_at=now, expires_at=expires_at)
        if replaced is None:
            # Changed since we read it: the atomic condition refused the resend.
            current = await uow.challenges.get(existing.id)
            ensure_can_send(current, now)
            raise OtpResendTooSoon(seconds_until(now + RESEND_INTERVAL, now))
        return replaced

    async def _withdraw(self, challenge: Challenge, error: SmsDeliveryError,
                        cause: Envelope | None) -> None:
        log.warning("otp sms failed", challenge_id=challenge.id, reason=error.reason,
                    status=error.status, twilio_error=error.provider_code)

        async def withdraw(uow: OtpUnitOfWork) -> None:
            await uow.challenges.invalidate(challenge.id, challenge.code_hash or "")
            uow.emit(self._failed(challenge.flow_id, challenge.purpose, challenge.phone,
                                  SmsFailed.code, cause))

        try:
            await self._transactions.run(withdraw)
        except Exception:
            # The code stays stored but was never delivered: nobody knows it. Log and go on.
            log.exception("could not withdraw an undelivered otp", challenge_id=challenge.id)

    # --- verify --------------------------------------------------------------------------

    async def verify(self, command: VerifyOtp) -> VerifiedOtp:
        code = checked_code(command.code)
        challenge = await self._challenges.find(command.purpose, command.flow_id)
        if challenge is None:
            raise ChallengeNotFound()
        now = storage_time(self._clock())
        # A code sent to another number than the one named here never matches: it counts as
        # a wrong entry (the lost-phone code swap).
        code_hash = hash_code(self._secret, challenge.id, command.phone, code)

        async def consume(uow: OtpUnitOfWork) -> Challenge | None:
            # Success and OtpVerified commit together; two parallel right entries conflict
            # and the retried one finds the code used.
            used = await uow.challenges.consume(challenge.id, code_hash, now)
            if used is not None:
                uow.emit(new_event(
                    OtpVerified(flow_id=used.flow_id, purpose=used.purpose,  # type: ignore[arg-type]
                                phone=used.phone, challenge_id=used.id),
                    correlation_id=used.flow_id, occurred_at=now))
            return used

        used = await self._transactions.run(consume)
        if used is not None:
            log.info("otp verified", challenge_id=used.id, purpose=used.purpose)
            return VerifiedOtp(verified=True, phone=used.phone, challenge_id=used.id)

        counted = await self._challenges.count_failure(challenge.id, code_hash, now)
        if counted is not None:
            if counted.locked:
                await self._report_lock(counted)
            raise OtpInvalid(counted.remaining_attempts)
        raise refusal(await self._challenges.get(challenge.id), now)

    async def _report_lock(self, challenge: Challenge) -> None:
        # Emitted right after the atomic count that locked the challenge, in its own unit of
        # work: counting inside a transaction would make parallel guesses abort each other.
        # A crash in between loses only this notice; the lock itself is durable and the
        # caller got its answer synchronously.
        log.warning("otp locked after too many wrong entries", challenge_id=challenge.id)

        async def report(uow: OtpUnitOfWork) -> None:
            uow.emit(self._failed(challenge.flow_id, challenge.purpose, challenge.phone,
                                  "otp_attempts_exceeded", None))

        await self._transactions.run(report)

    # --- policy --------------------------------------------------------------------------

    async def policy(self, _request: Empty) -> OtpPolicy:
        """The timing rules above, for the callers that show them (the OTP screen) or imitate
        them without sending (profile's decoy resets): written once, here."""
        return OtpPolicy(code_digits=CODE_DIGITS,
                         code_lifetime_seconds=int(CODE_TTL.total_seconds()),
                         resend_interval_seconds=int(RESEND_INTERVAL.total_seconds()),
                         max_attempts=MAX_FAILURES)

    # --- consumer ------------------------------------------------------------------------

    async def on_registration_requested(self, event: Envelope) -> None:
        """RegistrationRequested → a code for ``flow_id = registration_id``, once."""
        requested: RegistrationRequested = event.parse(RegistrationRequested)
        try:
            command = _registration_code(requested)
            await self.issue(command, cause=event, consumer=REGISTRATION_CONSUMER)
        except AlreadyProcessed:
            log.info("redelivered event ignored", event_id=event.id)
        except SmsFailed:
            pass  # already recorded: the event as processed, and OtpFailed
        except OtpError as refused:
            # Refused before anything was stored (throttled, locked, malformed): record the
            # refusal once, so a redelivery does not try again and the flow can react.
            await self._record_refusal(event, requested, refused)

    async def _record_refusal(self, event: Envelope, requested: RegistrationRequested,
                              refused: OtpError) -> None:
        log.warning("otp for registration refused", event_id=event.id, error=refused.code)

        async def record(uow: OtpUnitOfWork) -> None:
            await uow.mark_processed(REGISTRATION_CONSUMER, event.id)
            uow.emit(self._failed(requested.registration_id, "registration", requested.phone,
                                  refused.code, event))

        with contextlib.suppress(AlreadyProcessed):  # recorded by an earlier delivery
            await self._transactions.run(record)

    def _failed(self, flow_id: str, purpose: str, phone: str, reason: str,
                cause: Envelope | None) -> Envelope:
        return new_event(
            # No phone: nobody consuming OtpFailed needs it (shared/events PERSONAL_FIELDS).
            OtpFailed(flow_id=flow_id, purpose=purpose, reason=reason),  # type: ignore[arg-type]
            correlation_id=flow_id, causation_id=_id_of(cause), occurred_at=self._clock())


def _registration_code(requested: RegistrationRequested) -> IssueOtp:
    """The code a RegistrationRequested asks for; an event otp cannot serve (a malformed
    phone) is refused like a request, so the refusal is recorded instead of redelivered."""
    try:
        return IssueOtp(flow_id=requested.registration_id, purpose="registration",
                        phone=requested.phone)
    except ValidationError as exc:
        fields = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
        raise InvalidInput(fields=[{"name": name, "detail": "Giá trị không hợp lệ."}
                                   for name in fields]) from None


def _id_of(event: Envelope | None) -> str | None:
    return event.id if event is not None else None
