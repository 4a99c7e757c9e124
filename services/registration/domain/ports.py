"""The ports the use cases need, as Protocols: Mongo and HTTP adapters implement them in
``adapters/``, the unit tests implement them with fakes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from services.registration.domain.model import IdentityRecord, Registration, Status, Subscriber
from shared.events import Envelope


class RegistrationRepository(Protocol):
    async def add(self, registration: Registration) -> None: ...

    async def get(self, registration_id: str) -> Registration | None: ...

    async def transition(
        self,
        registration_id: str,
        *,
        from_status: Status,
        to_status: Status,
        now: datetime,
        changes: dict[str, Any] | None = None,
        only_if_live: bool = True,
    ) -> Registration | None:
        """Atomically moves the flow if it is still at ``from_status`` (and, when
        ``only_if_live``, not expired at ``now``); the flow after the move, or None."""
        ...


class IdentityRepository(Protocol):
    async def exists(self, id_number: str) -> bool: ...

    async def add(self, record: IdentityRecord) -> None:
        """Raises AccountExists when the ID number already has an account."""
        ...

    async def ensure(self, record: IdentityRecord) -> None:
        """Idempotent: records the ID number unless it is already there (event projection)."""
        ...


class UnitOfWork(Protocol):
    # Read-only in the protocol, so an adapter may hold its concrete repository types.
    @property
    def registrations(self) -> RegistrationRepository: ...

    @property
    def identities(self) -> IdentityRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    def emit(self, event: Envelope) -> None: ...

    async def mark_processed(self, consumer: str, event_id: str) -> None:
        """Raises shared.storage.AlreadyProcessed when the event was handled before."""
        ...

    async def commit(self) -> None:
        """Raises TransactionConflict when a concurrent transaction won; retry the unit."""
        ...


class SubscriberRegistry(Protocol):
    async def find(self, phone: str) -> Subscriber | None:
        """The record for an E.164 phone, None when unknown; raises ExternalUnavailable."""
        ...


@dataclass(frozen=True)
class OtpIssued:
    expires_at: str
    resend_available_at: str


class OtpGateway(Protocol):
    """The otp service. Its refusals arrive as OtpRejected (code passed through), its silence
    as ExternalUnavailable."""

    async def issue(self, flow_id: str, purpose: str, phone: str) -> OtpIssued: ...

    async def verify(self, flow_id: str, purpose: str, code: str) -> None: ...
