"""What every sensitive change of an account shares (the settings, ending another session):
a step-up of this session recent and strong enough (``domain/step_up.py``), and the notice
of the change to the phones the account had before it (a ``SecurityNoticeRequested`` event
in the change's own commit, sent by ``notices.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.profile.domain.account_management import iso
from services.profile.domain.devices import device_ascii
from services.profile.domain.models import Account, Session
from services.profile.domain.ports import UnitOfWork
from services.profile.domain.step_up import (
    STEP_UP_VALIDITY,
    ensure_stepped_up,
    required_level,
)
from shared.clock import Clock
from shared.events import Envelope, SecurityNoticeRequested, new_event


class SensitiveChanges:
    def __init__(self, *, clock: Clock, step_up_validity: timedelta = STEP_UP_VALIDITY) -> None:
        self._clock = clock
        self._step_up_validity = step_up_validity

    def ensure_step_up(self, session: Session, account: Account,
                       changed_level: int = 2) -> None:
        ensure_stepped_up(session, self._clock(), required_level(account, changed_level),
                          self._step_up_validity)

    def notify(self, uow: UnitOfWork, account: Account, session: Session,
               change: str, now: datetime, phone_ids: list[str] | None = None) -> Envelope:
        """The notice of a change, to the phones the account had before it (``phone_ids``
        taken before the change, else those of ``account`` as read before it), committed
        with the change itself."""
        event = new_event(SecurityNoticeRequested(
            account_id=account.account_id, change=change,
            phone_ids=phone_ids if phone_ids is not None
            else [p.phone_id for p in account.phones], at=iso(now) or "",
            device=device_ascii(session.user_agent), email=account.email is not None),
            correlation_id=session.session_id, occurred_at=now)
        uow.emit(event)
        return event
