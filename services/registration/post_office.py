"""Use case ``agent_register``: a post-office clerk registers a citizen at the counter.

    checks (the same identity rules as every method; the document seen in person)
    → one unit of work: the ID number is taken, the counter record (agent, office, unique
      username) is stored, AccountCreated (level 3, username, must_change_password,
      password_hash, registered_by) and RegistrationCompleted go to the outbox
    → after the commit: the otp service texts the initial password (``send_notice``).

The initial password is made with ``secrets``, hashed with argon2id, and exists in clear only
in this request and in the SMS the otp service composes: never in an event, log or document.
The SMS goes after the commit, so no one receives a password for an account that was never
made. Should the SMS fail, the account stands and the answer says so
(``initial_password_sent: false``): the citizen then uses «Quên mật khẩu» (an OTP to the same
phone), or the clerk registers nothing more.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.registration.domain.errors import (
    AccountExists,
    RegistrationError,
    TransactionConflict,
    UsernameTaken,
)
from services.registration.domain.methods import post_office
from services.registration.domain.methods.post_office import (
    CounterRegistration,
    PostOfficeApplication,
)
from services.registration.domain.model import IdentityRecord, rfc3339, vietnam_today
from services.registration.domain.ports import NoticeGateway, PostOfficeUnitOfWork
from shared import crypto
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
    clock: Clock
    hash_password: Callable[[str], Awaitable[str]] = crypto.hash_password
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    new_username: Callable[[], str] = post_office.new_username
    new_password: Callable[[], str] = post_office.new_initial_password


class PostOfficeRegistrations:
    def __init__(self, deps: PostOfficeDependencies) -> None:
        self.deps = deps

    async def agent_register(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        application = post_office.parse_application(payload, vietnam_today(self.deps.clock()))
        await self._refuse_duplicate(application.identity.id_number)
        password = self.deps.new_password()
        password_hash = await self.deps.hash_password(password)
        record = await self._create(application, password_hash)
        log.info("post office registration completed", registration_id=record.id,
                 account_id=record.account_id, agent_account_id=record.agent.account_id,
                 office=record.agent.office.get("name"))
        sent = await self._send_password(application.phone, record, password)
        return {"account_id": record.account_id, "username": record.username,
                "level": post_office.LEVEL, "phone_masked": mask_phone(application.phone),
                "initial_password_sent": sent}

    async def _refuse_duplicate(self, id_number: str) -> None:
        # An early answer before hashing; the unique ID number in the unit is the guarantee.
        async with self.deps.uow() as uow:
            if await uow.identities.exists(id_number):
                raise AccountExists()

    async def _create(self, application: PostOfficeApplication,
                      password_hash: str) -> CounterRegistration:
        for attempt in range(_ATTEMPTS):
            now = self.deps.clock()
            record = CounterRegistration(
                id=self.deps.new_id(), account_id=self.deps.new_id(),
                id_number=application.identity.id_number, username=self.deps.new_username(),
                agent=application.agent, created_at=now)
            try:
                async with self.deps.uow() as uow:
                    await uow.identities.add(IdentityRecord(
                        id_number=record.id_number, account_id=record.account_id,
                        subject_type="citizen", created_at=now, registration_id=record.id))
                    await uow.counter_registrations.add(record)
                    for event in _completion_events(application, record, password_hash, now):
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
                       password_hash: str, now: datetime) -> list[Envelope]:
    identity = application.identity
    # model_validate: the fields of this method ride as extras (the schema allows them).
    created = AccountCreated.model_validate(dict(
        account_id=record.account_id,
        registration_id=record.id,
        subject_type="citizen",
        method=post_office.METHOD,
        level=post_office.LEVEL,
        identity=EventIdentity(id_number=identity.id_number, full_name=identity.full_name,
                               birth_date=identity.birth_date.isoformat(),
                               sex=identity.sex).model_dump(),
        phone=application.phone,
        email=application.email,
        password_hash=password_hash,
        created_at=rfc3339(now),
        # Additive fields of this method (docs/messaging.md).
        username=record.username,
        must_change_password=True,
        registered_by=record.agent.as_dict(),
    ))
    account_event = new_event(created, correlation_id=record.id, occurred_at=now)
    completed = RegistrationCompleted(registration_id=record.id, account_id=record.account_id,
                                      method=post_office.METHOD, level=post_office.LEVEL)
    return [account_event,
            new_event(completed, correlation_id=record.id, causation_id=account_event.id,
                      occurred_at=now)]
