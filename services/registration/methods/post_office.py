"""Registration at a post-office counter: a clerk registers a citizen, in two steps.

``agent_register_start``
    checks (the same identity rules as every method; the document seen in person) → an early
    ``account_exists`` → one of the agent's daily slots (``rate_limited`` past the limit) →
    the flow is stored, bound to this agent → the otp service texts a code to the citizen's
    phone (purpose ``counter``). Nothing else exists yet.
``agent_register_confirm``
    the same agent enters the code the citizen reads back (the phone is the citizen's: it
    received the code) → one unit of work: the flow completes, the ID number is taken, the
    counter record (agent, office, unique username) is stored, AccountCreated (level 3,
    username, must_change_password, credential_id, registered_by: agent and office) and
    RegistrationCompleted go to the outbox → after the commit the otp service texts the
    initial password (``send_notice``).

The initial password is made with ``secrets`` and handed to profile, which checks it against
its password rule, hashes (argon2id) and keeps it (``stage_credential``, issue 11:
AccountCreated names only the credential's id). It exists in clear only in this request, that
request to profile and the SMS the otp service composes: never in an event, log or document,
not even as a hash.
The SMS goes after the commit, so no one receives a password for an account that was never
made. Should the SMS fail, the account stands and the answer says so
(``initial_password_sent: false``): the citizen then uses «Quên mật khẩu» (an OTP to the same
phone), or the clerk registers nothing more.

A counter flow is bound to its agent, not to a flow token, and lapses silently (no
RegistrationFailed: nothing was announced for it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.registration.domain.errors import (
    CounterDailyLimit,
    FlowState,
    RegistrationError,
    ValidationFailed,
)
from services.registration.domain.flow import RegistrationFlow, Status
from services.registration.domain.methods import post_office
from services.registration.domain.methods.post_office import CounterRegistration
from services.registration.domain.model import vietnam_today
from services.registration.domain.ports import UnitOfWork
from services.registration.flows import Completion, completion_events
from services.registration.methods.base import Beginning, MethodBase, StartRequest, Step
from shared.contracts import registration as reg
from shared.events import Envelope
from shared.events.schemas import Identity as EventIdentity
from shared.logging import get_logger
from shared.phones import mask_phone

log = get_logger(__name__)


class PostOfficeMethod(MethodBase):
    name = post_office.METHOD
    level = post_office.LEVEL
    steps = frozenset({Step.AGENT_REGISTER_RESEND, Step.AGENT_REGISTER_CONFIRM})
    uses_flow_token = False
    announces_expiry = False

    async def begin(self, request: StartRequest, now: datetime) -> Beginning:
        assert isinstance(request, reg.CounterStart)
        application = post_office.parse_application(request, vietnam_today(now))
        await self.flows.refuse_duplicate(application.identity.key)
        await self._take_daily_slot(application.agent.account_id, now)
        flow = post_office.new_flow(self.deps.new_id(), application, now)
        log.info("post office registration started", registration_id=flow.id,
                 agent_account_id=application.agent.account_id,
                 office=application.agent.office.get("name"))
        return Beginning(flow=flow, answer={"phone_masked": mask_phone(application.phone)})

    async def after_begin(self, flow: RegistrationFlow) -> dict[str, Any]:
        # After the commit: the code goes to a flow that exists.
        issued = await self.deps.otp.issue(flow.id, post_office.OTP_PURPOSE,
                                           flow.proven_phone())
        return {"otp_expires_at": issued.expires_at,
                "resend_available_at": issued.resend_available_at}

    async def agent_register_resend(self, flow: RegistrationFlow,
                                    request: reg.CounterFlowRef) -> reg.AgentRegistrationStarted:
        phone = flow.proven_phone()
        issued = await self.deps.otp.issue(flow.id, post_office.OTP_PURPOSE, phone)
        return reg.AgentRegistrationStarted.model_validate({
            "id": flow.id, "status": "otp_sent", "phone_masked": mask_phone(phone),
            "otp_expires_at": issued.expires_at,
            "resend_available_at": issued.resend_available_at})

    async def agent_register_confirm(self, flow: RegistrationFlow,
                                     request: reg.CounterOtp) -> reg.AgentRegistrationCreated:
        code = request.code
        if not code.strip():
            raise ValidationFailed(fields=[{"name": "code", "detail": "Vui lòng nhập mã OTP."}])
        phone, identity = flow.proven_phone(), flow.declared_identity()
        # The code went to this phone only: the citizen holding it proves the phone is theirs.
        await self.deps.otp.verify(flow.id, post_office.OTP_PURPOSE, phone, code.strip())
        await self.flows.refuse_duplicate(identity.key)
        password = self.deps.new_password()
        credential_id = await self.deps.credentials.stage(
            flow.id, password, confirmation=password, id_number=identity.id_number, phone=phone)
        record = await self._create(flow, credential_id)
        log.info("post office registration completed", registration_id=record.id,
                 account_id=record.account_id, agent_account_id=record.agent.account_id,
                 office=record.agent.office.get("name"))
        sent = await self._send_password(phone, record, password)
        return reg.AgentRegistrationCreated.model_validate({
            "account_id": record.account_id, "username": record.username, "level": self.level,
            "phone_masked": mask_phone(phone), "status": "completed",
            "initial_password_sent": sent})

    async def _take_daily_slot(self, agent_account_id: str, now: datetime) -> None:
        wait = post_office.seconds_until_tomorrow(now)
        if not await self.deps.agent_days.claim(post_office.agent_day(agent_account_id, now),
                                                self.deps.counter_daily_limit,
                                                now + timedelta(seconds=wait, days=1)):
            log.warning("post office daily limit reached", agent_account_id=agent_account_id)
            raise CounterDailyLimit(wait)

    async def _create(self, flow: RegistrationFlow, credential_id: str) -> CounterRegistration:
        """The completing unit; each try draws a new username (one drawn twice is retried)."""
        assert flow.agent is not None
        agent, id_number = flow.agent, flow.declared_identity().id_number
        tries: list[CounterRegistration] = []

        def attempt(now: datetime) -> Completion:
            record = CounterRegistration(
                id=flow.id, account_id=self.deps.new_id(), id_number=id_number,
                username=self.deps.new_username(), agent=agent, created_at=now)
            tries.append(record)

            async def store_record(uow: UnitOfWork) -> None:
                await uow.counter_registrations.add(record)

            return Completion(
                account_id=record.account_id, changes={"level": self.level},
                events=lambda done: _completion_events(done, record, credential_id, now),
                also=store_record)

        if await self.flows.complete(flow, Status.OTP_SENT, attempt) is None:
            raise FlowState()  # finished by a parallel confirmation, or expired
        return tries[-1]

    async def _send_password(self, phone: str, record: CounterRegistration,
                             password: str) -> bool:
        try:
            await self.deps.notices.send_initial_password(phone, record.username, password)
        except RegistrationError as exc:
            log.warning("initial password sms failed", registration_id=record.id,
                        account_id=record.account_id, code=exc.code)
            return False
        return True


def _completion_events(flow: RegistrationFlow, record: CounterRegistration,
                       credential_id: str, now: datetime) -> list[Envelope]:
    identity = flow.declared_identity()
    return completion_events(
        flow, now, EventIdentity(id_type=identity.id_type, id_number=identity.id_number,
                                 full_name=identity.full_name,
                                 birth_date=identity.birth_date.isoformat(), sex=identity.sex),
        credential_id=credential_id,
        # Additive fields of this method (docs/messaging.md).
        username=record.username,
        must_change_password=True,
        registered_by=record.agent.as_dict(),
        # How the phone was proven: the code sent to it, read back to the agent.
        phone_proof="counter_otp",
    )
