"""Ports the use cases need from the outside world: the store (through a unit of work) and
the SMS gateway. Adapters implement them; tests use fakes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol, TypeVar

from services.otp.domain.model import Challenge
from shared.events import Envelope

T = TypeVar("T")


class SmsDeliveryError(Exception):
    """The SMS gateway did not accept the message (after any retries worth making)."""

    def __init__(self, reason: str, *, status: int | None = None,
                 provider_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.provider_code = provider_code


class SmsSender(Protocol):
    async def send(self, to_e164: str, body: str) -> None:
        """Delivers ``body`` to ``to_e164`` or raises :class:`SmsDeliveryError`."""
        ...


class EmailDeliveryError(Exception):
    """The mail relay did not accept the message."""


class EmailSender(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None:
        """Hands a plain-text message to the relay or raises :class:`EmailDeliveryError`."""
        ...


class ChallengeStore(Protocol):
    """Challenges. Every conditional method is ONE atomic operation in the store: the
    condition and the change cannot be separated by a concurrent request."""

    async def find(self, purpose: str, flow_id: str) -> Challenge | None: ...

    async def get(self, challenge_id: str) -> Challenge | None: ...

    async def create(self, challenge: Challenge) -> None: ...

    async def replace_code(self, challenge_id: str, *, phone: str, code_hash: str,
                           sent_at: datetime, expires_at: datetime) -> Challenge | None:
        """New code (fresh, unused), failures kept; only if the last send is at least
        RESEND_INTERVAL old and the challenge is not locked. None otherwise."""
        ...

    async def consume(self, challenge_id: str, code_hash: str, now: datetime) -> Challenge | None:
        """Marks the code used if it matches and is unused, unexpired and not locked."""
        ...

    async def count_failure(self, challenge_id: str, code_hash: str,
                            now: datetime) -> Challenge | None:
        """Adds one failure if the code does NOT match and is unused, unexpired, and fewer
        than MAX_FAILURES were counted. Returns the challenge after the change."""
        ...

    async def invalidate(self, challenge_id: str, code_hash: str) -> None:
        """Makes this code unusable (if it is still the current one)."""
        ...


class SendCounter(Protocol):
    async def claim(self, phone: str, now: datetime) -> datetime | None:
        """Takes one of SENDS_PER_WINDOW slots in the rolling SEND_WINDOW for ``phone``.
        None when taken; otherwise the moment a slot frees up."""
        ...


class OtpUnitOfWork(Protocol):
    @property
    def challenges(self) -> ChallengeStore: ...

    @property
    def send_counters(self) -> SendCounter: ...

    def emit(self, event: Envelope) -> None: ...

    async def mark_processed(self, consumer: str, event_id: str) -> None: ...


class Transactions(Protocol):
    async def run(self, work: Callable[[OtpUnitOfWork], Awaitable[T]]) -> T:
        """Runs ``work`` in one transaction and commits it (retrying the whole of it on a
        transient conflict, so ``work`` must only touch the unit of work)."""
        ...
