"""Notices of sensitive changes: the consumer of ``SecurityNoticeRequested`` (emitted by the
settings and sessions use cases, ``handlers/changes.py``, in the same commit as the change, so
a crash between the change and the SMS loses nothing: the outbox publishes it, and this
consumer retries until it is sent).

Each phone the account had BEFORE the change gets one SMS (the otp service's
``security_change`` notice: what changed, when, from which device, what to do if it was not
the owner). Delivery is at least once per phone: a phone is marked done only after its SMS
left, so a failure resends to the phones not yet told, never to all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from services.profile.domain.ports import UnitOfWork
from services.profile.domain.step_up import notice_time
from shared.events import Envelope, SecurityNoticeRequested
from shared.logging import get_logger
from shared.phones import mask_phone
from shared.storage import AlreadyProcessed

log = get_logger(__name__)

SECURITY_NOTICE_CONSUMER = "profile-security-notices"


class NoticeSender(Protocol):
    async def security_change(self, phone: str, change: str, at: str, device: str) -> None:
        """Sends the notice SMS; raises if it could not be sent (the event is retried)."""

    async def security_change_email(self, email: str, change: str, at: str,
                                    device: str) -> bool:
        """Sends the notice e-mail: False when no mail relay is configured; raises if it
        could not be sent."""


class SecurityNotices:
    def __init__(self, *, uow: Callable[[], UnitOfWork], sender: NoticeSender) -> None:
        self._uow = uow
        self._sender = sender

    async def on_notice_requested(self, event: Envelope) -> None:
        data: SecurityNoticeRequested = event.parse(SecurityNoticeRequested)
        async with self._uow() as uow:
            numbers = await uow.managed_accounts.phone_numbers(data.account_id, data.phone_ids)
        at = notice_time(datetime.fromisoformat(data.at))
        for phone_id in data.phone_ids:
            phone = numbers.get(phone_id)
            if phone is not None:
                await self._tell(event.id, phone_id, phone, data, at)
        if data.email:
            await self._tell_email(event.id, data, at)

    async def _tell_email(self, event_id: str, data: SecurityNoticeRequested, at: str) -> None:
        async with self._uow() as uow:
            try:
                await uow.mark_processed(SECURITY_NOTICE_CONSUMER, f"{event_id}:email")
            except AlreadyProcessed:
                return
            email = await uow.managed_accounts.notice_email(data.account_id, event_id)
            sent = email is not None and await self._sender.security_change_email(
                email, data.change, at, data.device)
            await uow.commit()
        log.info("security notice e-mail", account_id=data.account_id, change=data.change,
                 sent=sent)

    async def _tell(self, event_id: str, phone_id: str, phone: str,
                    data: SecurityNoticeRequested, at: str) -> None:
        async with self._uow() as uow:
            try:
                await uow.mark_processed(SECURITY_NOTICE_CONSUMER, f"{event_id}:{phone_id}")
            except AlreadyProcessed:
                return
            await self._sender.security_change(phone, data.change, at, data.device)
            await uow.commit()
        log.info("security notice sent", account_id=data.account_id, change=data.change,
                 phone=mask_phone(phone))
