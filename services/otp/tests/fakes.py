"""Fakes of the otp ports: in-memory, with the same atomic semantics as the Mongo adapters
(an asyncio program cannot interleave inside a method without an ``await``)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from services.otp.domain.model import (
    MAX_FAILURES,
    RESEND_INTERVAL,
    SEND_WINDOW,
    SENDS_PER_WINDOW,
    Challenge,
)
from services.otp.domain.ports import OtpUnitOfWork, SmsDeliveryError
from shared.events import Envelope
from shared.storage import AlreadyProcessed

T = TypeVar("T")


@dataclass
class FakeState:
    challenges: dict[str, Challenge] = field(default_factory=dict)
    sends: dict[str, list[datetime]] = field(default_factory=dict)
    processed: set[str] = field(default_factory=set)


class FakeChallenges:
    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def find(self, purpose: str, flow_id: str) -> Challenge | None:
        return next((c for c in self._state.challenges.values()
                     if c.purpose == purpose and c.flow_id == flow_id), None)

    async def get(self, challenge_id: str) -> Challenge | None:
        return self._state.challenges.get(challenge_id)

    async def create(self, challenge: Challenge) -> None:
        assert await self.find(challenge.purpose, challenge.flow_id) is None, "unique index"
        self._state.challenges[challenge.id] = challenge

    async def replace_code(self, challenge_id: str, *, phone: str, code_hash: str,
                           sent_at: datetime, expires_at: datetime) -> Challenge | None:
        c = self._state.challenges.get(challenge_id)
        if c is None or c.sent_at > sent_at - RESEND_INTERVAL or c.failures >= MAX_FAILURES:
            return None
        return self._put(dataclasses.replace(c, phone=phone, code_hash=code_hash,
                                             sent_at=sent_at, expires_at=expires_at,
                                             used_at=None))

    async def consume(self, challenge_id: str, code_hash: str, now: datetime) -> Challenge | None:
        c = self._state.challenges.get(challenge_id)
        if c is None or c.code_hash != code_hash or not _live(c, now):
            return None
        return self._put(dataclasses.replace(c, used_at=now))

    async def count_failure(self, challenge_id: str, code_hash: str,
                            now: datetime) -> Challenge | None:
        c = self._state.challenges.get(challenge_id)
        if c is None or c.code_hash in (code_hash, None) or not _live(c, now):
            return None
        return self._put(dataclasses.replace(c, failures=c.failures + 1))

    async def invalidate(self, challenge_id: str, code_hash: str) -> None:
        c = self._state.challenges.get(challenge_id)
        if c is not None and c.code_hash == code_hash:
            self._put(dataclasses.replace(c, code_hash=None))

    def _put(self, challenge: Challenge) -> Challenge:
        self._state.challenges[challenge.id] = challenge
        return challenge


def _live(c: Challenge, now: datetime) -> bool:
    return c.used_at is None and c.expires_at > now and c.failures < MAX_FAILURES


class FakeSendCounters:
    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def claim(self, phone: str, now: datetime) -> datetime | None:
        sends = self._state.sends.setdefault(phone, [])
        if len(sends) < SENDS_PER_WINDOW or sends[0] <= now - SEND_WINDOW:
            sends[:] = sorted([*sends, now])[-SENDS_PER_WINDOW:]
            return None
        return sends[0] + SEND_WINDOW


class FakeUnitOfWork:
    def __init__(self, state: FakeState) -> None:
        self.challenges = FakeChallenges(state)
        self.send_counters = FakeSendCounters(state)
        self._state = state
        self.pending: list[Envelope] = []

    def emit(self, event: Envelope) -> None:
        self.pending.append(event)

    async def mark_processed(self, consumer: str, event_id: str) -> None:
        key = f"{consumer}:{event_id}"
        if key in self._state.processed:
            raise AlreadyProcessed(event_id)
        self._state.processed.add(key)


class FakeTransactions:
    """All or nothing: on an exception the state is restored and no event is kept."""

    def __init__(self, state: FakeState) -> None:
        self.state = state
        self.events: list[Envelope] = []
        self.commits = 0

    async def run(self, work: Callable[[OtpUnitOfWork], Awaitable[T]]) -> T:
        snapshot = copy.deepcopy(self.state)
        uow = FakeUnitOfWork(self.state)
        try:
            result = await work(uow)
        except BaseException:
            self.state.challenges = snapshot.challenges
            self.state.sends = snapshot.sends
            self.state.processed = snapshot.processed
            raise
        self.events.extend(uow.pending)
        self.commits += 1
        return result

    def events_of(self, event_type: str) -> list[Envelope]:
        return [e for e in self.events if e.type == event_type]


@dataclass
class SentSms:
    to: str
    body: str


class FakeSms:
    def __init__(self) -> None:
        self.sent: list[SentSms] = []
        self.fail_with: SmsDeliveryError | None = None

    async def send(self, to_e164: str, body: str) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(SentSms(to_e164, body))

    def last_code(self) -> str:
        import re

        match = re.search(r"\b(\d{6})\b", self.sent[-1].body)
        assert match, "no code in the last SMS"
        return match.group(1)
