"""Ports of the pki use cases: revocation sources, the store (unit of work), the mobile
signature provider. Adapters implement them; unit tests use fakes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from cryptography import x509

from services.pki.domain.challenge import Challenge
from services.pki.domain.sim_prompts import PromptLimits
from shared.events import Envelope

T = TypeVar("T")


class RevocationStatus(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    # No fresh, authentic answer from the CA (responder down, no pointer, bad response).
    UNKNOWN = "unknown"


class RevocationChecker(Protocol):
    async def status(self, certificate: x509.Certificate, issuer: x509.Certificate,
                     now: datetime) -> RevocationStatus: ...


class ChallengeStore(Protocol):
    async def put(self, challenge: Challenge) -> None:
        """Stores the flow's challenge, replacing any earlier one of the same flow."""
        ...

    async def find(self, purpose: str, flow_id: str) -> Challenge | None: ...

    async def consume(self, purpose: str, flow_id: str, nonce: bytes,
                      now: datetime) -> Challenge | None:
        """Marks it used if it is this nonce, unused and unexpired: ONE atomic operation."""
        ...


@dataclass(frozen=True)
class SimSession:
    purpose: str
    flow_id: str
    phone: str
    nonce: bytes
    provider_session: str
    created_at: datetime
    expires_at: datetime
    # running → completed | failed (with code); completed keeps the validated result.
    state: str = "running"
    code: str | None = None
    result: dict[str, Any] | None = None


class SimSessionStore(Protocol):
    async def put(self, session: SimSession) -> None: ...

    async def find(self, purpose: str, flow_id: str) -> SimSession | None: ...

    async def finish(self, purpose: str, flow_id: str, provider_session: str, state: str,
                     code: str | None, result: dict[str, Any] | None) -> SimSession | None:
        """running → state, atomically; None when it was no longer running."""
        ...


class SimPromptLedger(Protocol):
    """Per phone: the recent prompts and the one waiting (``sim_prompts.PromptHistory``)."""

    async def claim(self, phone: str, flow_key: str, now: datetime, pending_until: datetime,
                    limits: PromptLimits) -> datetime | None:
        """Records a prompt to ``phone`` if the limits allow one now, ATOMICALLY (parallel
        askers cannot both pass); else changes nothing and returns when one may go."""
        ...

    async def release(self, phone: str, flow_key: str) -> None:
        """The prompt of ``flow_key`` no longer waits on the phone (answered, failed)."""
        ...


class PkiUnitOfWork(Protocol):
    @property
    def challenges(self) -> ChallengeStore: ...

    @property
    def sim_sessions(self) -> SimSessionStore: ...

    @property
    def sim_prompts(self) -> SimPromptLedger: ...

    def emit(self, event: Envelope) -> None: ...


class Transactions(Protocol):
    async def run(self, work: Callable[[PkiUnitOfWork], Awaitable[T]]) -> T: ...


class MobileSignatureError(Exception):
    """The provider could not be reached or answered outside its contract."""


@dataclass(frozen=True)
class MobileSignatureStatus:
    state: str  # RUNNING | COMPLETE
    result: str | None = None  # OK, USER_CANCELLED, TIMEOUT, NOT_CLIENT, ...
    signature: bytes | None = None
    certificate_der: bytes | None = None


class MobileSignatureProvider(Protocol):
    async def start(self, phone: str, digest: bytes, display_text: str) -> str:
        """Sends the signing request to the SIM; returns the provider's session id."""
        ...

    async def status(self, session_id: str, wait_seconds: float) -> MobileSignatureStatus: ...
