"""Use cases of the post-office counter: a clerk registers a citizen, in two steps.

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

The initial password is made with ``secrets`` and handed to profile, which hashes (argon2id)
and keeps it (``stage_credential``, issue 11: AccountCreated names only the credential's id).
It exists in clear only in this request, that request to profile and the SMS the otp service
composes: never in an event, log or document, not even as a hash.
The SMS goes after the commit, so no one receives a password for an account that was never
made. Should the SMS fail, the account stands and the answer says so
(``initial_password_sent: false``): the citizen then uses «Quên mật khẩu» (an OTP to the same
phone), or the clerk registers nothing more.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.registration.domain.errors import (
    AccountExists,
    CounterDailyLimit,
    FlowNotFound,
    FlowState,
    RegistrationError,
    TransactionConflict,
    UsernameTaken,
    ValidationFailed,
)
from services.registration.domain.identity import Identity
from services.registration.domain.methods import post_office
from services.registration.domain.methods.post_office import (
    CounterFlow,
    CounterRegistration,
    PostOfficeApplication,
)
from services.registration.domain.model import IdentityRecord, rfc3339, vietnam_today
from services.registration.domain.ports import (
    AgentDayCounter,
    CredentialOwner,
    NoticeGateway,
    OtpGateway,
    PostOfficeUnitOfWork,
)
from shared.clock import Clock
from shared.events import AccountCreated, Envelope, RegistrationCompleted, new_event
from shared.events.schemas import Identity as EventIdentity
from shared.logging import get_logger
from shared.phones import mask_phone

log = get_logger(__name__)

# A conflict with a concurrent transaction, or a username drawn twice: try the unit again.
_ATTEMPTS = 5


@dataclass
class PostOfficeDependencies:
    uow: Callable[[], PostOfficeUnitOfWork]
    notices: NoticeGateway
    otp: OtpGateway
    agent_days: AgentDayCounter
    clock: Clock
    # profile hashes and keeps the initial password (issue 11).
    credentials: CredentialOwner
    daily_limit: int = post_office.DAILY_LIMIT
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    new_username: Callable[[], str] = post_office.new_username
    new_password: Callable[[], str] = post_office.new_initial_password


class PostOfficeRegistrations:
    def __init__(self, deps: PostOfficeDependencies) -> None:
        self.deps = deps

    async def agent_register_start(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        now = self.deps.clock()
        application = post_office.parse_application(payload, vietnam_today(now))
        await self._refuse_duplicate(application.identity)
        await self._take_daily_slot(application.agent.account_id, now)
        flow = CounterFlow(id=self.deps.new_id(), application=application, created_at=now,
                           expires_at=now + post_office.FLOW_LIFETIME)
        async with self.deps.uow() as uow:
            await uow.counter_flows.add(flow)
            await uow.commit()
        issued = await self.deps.otp.issue(flow.id, post_office.OTP_PURPOSE, application.phone)
        log.info("post office registration started", registration_id=flow.id,
                 agent_account_id=application.agent.account_id,
                 office=application.agent.office.get("name"))
        return {"id": flow.id, "status": "otp_sent",
                "phone_masked": mask_phone(application.phone),
                "expires_at": rfc3339(flow.expires_at),
                "otp_expires_at": issued.expires_at,
                "resend_available_at": issued.resend_available_at}

    async def agent_register_resend(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        flow = await self._open_flow(payload)
        issued = await self.deps.otp.issue(flow.id, post_office.OTP_PURPOSE,
                                           flow.application.phone)
        return {"id": flow.id, "status": "otp_sent",
                "phone_masked": mask_phone(flow.application.phone),
                "otp_expires_at": issued.expires_at,
                "resend_available_at": issued.resend_available_at}

    async def agent_register_confirm(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        flow = await self._open_flow(payload)
        code = payload.get("code")
        if not isinstance(code, str) or not code.strip():
            raise ValidationFailed(fields=[{"name": "code", "detail": "Vui lòng nhập mã OTP."}])
        # The code went to this phone only: the citizen holding it proves the phone is theirs.
        await self.deps.otp.verify(flow.id, post_office.OTP_PURPOSE, flow.application.phone,
                                   code.strip())
        await self._refuse_duplicate(flow.application.identity)
        password = self.deps.new_password()
        credential_id = await self.deps.credentials.stage(flow.id, password)
        record = await self._create(flow, credential_id)
        log.info("post office registration completed", registration_id=record.id,
                 account_id=record.account_id, agent_account_id=record.agent.account_id,
                 office=record.agent.office.get("name"))
        phone = flow.application.phone
        sent = await self._send_password(phone, record, password)
        return {"account_id": record.account_id, "username": record.username,
                "level": post_office.LEVEL, "phone_masked": mask_phone(phone),
                "status": "completed", "initial_password_sent": sent}

    async def _open_flow(self, payload: Mapping[str, Any]) -> CounterFlow:
        """The flow named by ``id`` if the calling agent started it and it is still open."""
        flow_id, agent_id = payload.get("id"), payload.get("agent_account_id")
        if not isinstance(flow_id, str) or not isinstance(agent_id, str) or not agent_id:
            raise FlowNotFound()
        async with self.deps.uow() as uow:
            flow = await uow.counter_flows.get(flow_id)
        if flow is None:
            raise FlowNotFound()
        flow.ensure_open_for(agent_id, self.deps.clock())
        return flow

    async def _take_daily_slot(self, agent_account_id: str, now: datetime) -> None:
        wait = post_office.seconds_until_tomorrow(now)
        if not await self.deps.agent_days.claim(post_office.agent_day(agent_account_id, now),
                                                self.deps.daily_limit,
                                                now + timedelta(seconds=wait, days=1)):
            log.warning("post office daily limit reached", agent_account_id=agent_account_id)
            raise CounterDailyLimit(wait)

    async def _refuse_duplicate(self, identity: Identity) -> None:
        # An early answer before hashing; the unique identity key in the unit is the guarantee.
        async with self.deps.uow() as uow:
            if await uow.identities.exists(identity.key):
                raise AccountExists()

    async def _create(self, flow: CounterFlow, credential_id: str) -> CounterRegistration:
        application = flow.application
        for attempt in range(_ATTEMPTS):
            now = self.deps.clock()
            record = CounterRegistration(
                id=flow.id, account_id=self.deps.new_id(),
                id_number=application.identity.id_number, username=self.deps.new_username(),
                agent=application.agent, created_at=now)
            try:
                async with self.deps.uow() as uow:
                    if not await uow.counter_flows.complete(flow.id, now):
                        raise FlowState()  # finished by a parallel confirmation, or expired
                    await uow.identities.add(IdentityRecord(
                        key=application.identity.key, account_id=record.account_id,
                        subject_type="citizen", created_at=now, registration_id=record.id))
                    await uow.counter_registrations.add(record)
                    for event in _completion_events(application, record, credential_id, now):
                        uow.emit(event)
                    await uow.commit()
                    return record
            except (TransactionConflict, UsernameTaken):
                if attempt == _ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable: the last attempt raised")

    async def _send_password(self, phone: str, record: CounterRegistration,
                             password: str) -> bool:
        try:
            await self.deps.notices.send_initial_password(phone, record.username, password)
        except RegistrationError as exc:
            log.warning("initial password sms failed", registration_id=record.id,
                        account_id=record.account_id, code=exc.code)
            return False
        return True


def _completion_events(application: PostOfficeApplication, record: CounterRegistration,
                       credential_id: str, now: datetime) -> list[Envelope]:
    identity = application.identity
    # model_validate: the fields of this method ride as extras (the schema allows them).
    created = AccountCreated.model_validate(dict(
        account_id=record.account_id,
        registration_id=record.id,
        subject_type="citizen",
        method=post_office.METHOD,
        level=post_office.LEVEL,
        identity=EventIdentity(id_type=identity.id_type, id_number=identity.id_number,
                               full_name=identity.full_name,
                               birth_date=identity.birth_date.isoformat(),
                               sex=identity.sex).model_dump(),
        phone=application.phone,
        email=application.email,
        credential_id=credential_id,
        created_at=rfc3339(now),
        # Additive fields of this method (docs/messaging.md).
        username=record.username,
        must_change_password=True,
        registered_by=record.agent.as_dict(),
        # How the phone was proven: the code sent to it, read back to the agent.
        phone_proof="counter_otp",
    ))
    account_event = new_event(created, correlation_id=record.id, occurred_at=now)
    completed = RegistrationCompleted(registration_id=record.id, account_id=record.account_id,
                                      method=post_office.METHOD, level=post_office.LEVEL)
    return [account_event,
            new_event(completed, correlation_id=record.id, causation_id=account_event.id,
                      occurred_at=now)]
