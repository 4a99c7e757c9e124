"""What the use cases need from the outside world, as protocols: Mongo and the otp service
implement them in adapters/, in-memory fakes in the unit tests."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from services.profile.domain.models import Account, LoginFlow, LoginRecord, Session
from shared.events import Envelope


class AccountRepository(Protocol):
    async def add(self, account: Account) -> None:
        """Inserts; the unique _id and id_number reject a second account for the same one."""

    async def get(self, account_id: str) -> Account | None: ...

    async def find_by_login_name(self, name: str) -> Account | None:
        """By username, or by ID number (citizens type their CCCD/CMND)."""


class LoginFlowRepository(Protocol):
    async def add(self, flow: LoginFlow) -> None: ...

    async def get(self, flow_id: str) -> LoginFlow | None: ...

    async def complete(self, flow_id: str, session_id: str, now: datetime) -> bool:
        """otp_sent → completed, atomically and only if still live: True for one caller only."""


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None: ...

    async def touch(self, token_hash: str, now: datetime,
                    idle_expires_at: datetime) -> Session | None:
        """Slides the idle expiry of a live session; None (and no change) if it is not live."""

    async def revoke(self, token_hash: str, now: datetime) -> Session | None:
        """Revokes a session not yet revoked; None if unknown or already revoked."""


class LoginHistory(Protocol):
    async def add(self, record: LoginRecord) -> None: ...

    async def recent(self, account_id: str, limit: int,
                     before: datetime | None = None) -> list[LoginRecord]:
        """Newest first, a page of ``limit`` records older than ``before``."""


class Store(Protocol):
    """The repositories outside a transaction: reads and single-document atomic updates."""

    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def logins(self) -> LoginFlowRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def history(self) -> LoginHistory: ...


class UnitOfWork(Store, Protocol):
    """State, the events it causes and the consumed event id, committed together or not at all."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    def emit(self, event: Envelope) -> None: ...

    async def mark_processed(self, consumer: str, event_id: str) -> None:
        """Raises shared.storage.AlreadyProcessed when this consumer has seen the event."""

    async def commit(self) -> None: ...


class OtpService(Protocol):
    """The otp service; its domain errors come back as OtpRejected, passed to the caller."""

    async def issue(self, flow_id: str, purpose: str, phone: str) -> dict[str, Any]: ...

    async def verify(self, flow_id: str, purpose: str, code: str) -> dict[str, Any]: ...
