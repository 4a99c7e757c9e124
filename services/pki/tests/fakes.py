"""Fakes of the pki ports: in-memory, with the atomic semantics of the Mongo adapters (an
asyncio program cannot interleave inside a method without an ``await``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from cryptography import x509

from services.pki.domain.challenge import Challenge
from services.pki.domain.ports import MobileSignatureStatus, RevocationStatus, SimSession
from services.pki.domain.sim_prompts import PromptHistory, PromptLimits, free_at
from shared.events import Envelope

T = TypeVar("T")


@dataclass
class FakeState:
    challenges: dict[str, Challenge] = field(default_factory=dict)
    sims: dict[str, SimSession] = field(default_factory=dict)
    prompts: dict[str, FakePrompts] = field(default_factory=dict)
    events: list[Envelope] = field(default_factory=list)

    def event_types(self) -> list[str]:
        return [e.type for e in self.events]


class FakeChallenges:
    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def put(self, challenge: Challenge) -> None:
        self._state.challenges[f"{challenge.purpose}:{challenge.flow_id}"] = challenge

    async def find(self, purpose: str, flow_id: str) -> Challenge | None:
        return self._state.challenges.get(f"{purpose}:{flow_id}")

    async def consume(self, purpose: str, flow_id: str, nonce: bytes,
                      now: datetime) -> Challenge | None:
        key = f"{purpose}:{flow_id}"
        current = self._state.challenges.get(key)
        if (current is None or current.nonce != nonce or current.used_at is not None
                or now >= current.expires_at):
            return None
        used = dataclasses.replace(current, used_at=now)
        self._state.challenges[key] = used
        return used


class FakeSimSessions:
    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def put(self, sim: SimSession) -> None:
        self._state.sims[f"{sim.purpose}:{sim.flow_id}"] = sim

    async def find(self, purpose: str, flow_id: str) -> SimSession | None:
        return self._state.sims.get(f"{purpose}:{flow_id}")

    async def finish(self, purpose: str, flow_id: str, provider_session: str, state: str,
                     code: str | None, result: dict[str, Any] | None) -> SimSession | None:
        key = f"{purpose}:{flow_id}"
        current = self._state.sims.get(key)
        if current is None or current.provider_session != provider_session or current.state != "running":
            return None
        done = dataclasses.replace(current, state=state, code=code, result=result)
        self._state.sims[key] = done
        return done


@dataclass
class FakePrompts:
    """One phone's prompt ledger."""

    sent: list[datetime] = field(default_factory=list)
    pending: str | None = None
    pending_until: datetime | None = None


class FakeSimPrompts:
    def __init__(self, state: FakeState) -> None:
        self._state = state

    async def claim(self, phone: str, flow_key: str, now: datetime, pending_until: datetime,
                    limits: PromptLimits) -> datetime | None:
        ledger = self._state.prompts.setdefault(phone, FakePrompts())
        pending = ledger.pending_until if ledger.pending is not None else None
        history = PromptHistory(recent=ledger.sent, hourly=ledger.sent, pending_until=pending)
        waits_until = free_at(history, now, limits)
        if waits_until is not None:
            return waits_until
        ledger.sent.append(now)
        ledger.pending, ledger.pending_until = flow_key, pending_until
        return None

    async def release(self, phone: str, flow_key: str) -> None:
        ledger = self._state.prompts.get(phone)
        if ledger is not None and ledger.pending == flow_key:
            ledger.pending = ledger.pending_until = None


class FakeUnitOfWork:
    def __init__(self, state: FakeState) -> None:
        self.challenges = FakeChallenges(state)
        self.sim_sessions = FakeSimSessions(state)
        self.sim_prompts = FakeSimPrompts(state)
        self.pending: list[Envelope] = []

    def emit(self, event: Envelope) -> None:
        self.pending.append(event)


class FakeTransactions:
    def __init__(self, state: FakeState | None = None) -> None:
        self.state = state or FakeState()

    async def run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        # Commit = events appended; a raised error commits nothing (state writes in the fakes
        # happen at once, as single atomic Mongo operations outside a failing transaction would).
        uow = FakeUnitOfWork(self.state)
        result = await work(uow)
        self.state.events.extend(uow.pending)
        return result


class FixedRevocation:
    """Every certificate has the same status (unit tests of the handler)."""

    def __init__(self, status: RevocationStatus = RevocationStatus.GOOD) -> None:
        self.status_to_answer = status
        self.asked: list[int] = []

    async def status(self, certificate: x509.Certificate, issuer: x509.Certificate,
                     now: datetime) -> RevocationStatus:
        self.asked.append(certificate.serial_number)
        return self.status_to_answer


class ScriptedProvider:
    """A SIM provider whose answers the test sets."""

    def __init__(self) -> None:
        self.started: list[tuple[str, bytes]] = []
        self.texts: list[str] = []
        self.answer = MobileSignatureStatus(state="RUNNING")

    async def start(self, phone: str, digest: bytes, display_text: str) -> str:
        self.started.append((phone, digest))
        self.texts.append(display_text)
        return f"session-{len(self.started)}"

    async def status(self, session_id: str, wait_seconds: float) -> MobileSignatureStatus:
        return self.answer
