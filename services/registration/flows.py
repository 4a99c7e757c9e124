"""The part of every registration use case that no method changes: the ports, loading a flow
by its token (or its agent), storing it, moving it, failing it and completing it in one unit
of work. The methods (``services/registration/methods/``) bring what differs: how a person
is proven and what their completion announces.

Nothing here knows Mongo, NATS or HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.registration.conflicts import retrying_conflicts
from services.registration.domain.errors import AccountExists, FlowNotFound, UsernameTaken
from services.registration.domain.flow import RegistrationFlow, Status
from services.registration.domain.methods import post_office
from services.registration.domain.model import IdentityRecord, rfc3339
from services.registration.domain.ports import (
    AgentDayCounter,
    AttemptCounter,
    CredentialOwner,
    InsuranceRegistry,
    NoticeGateway,
    OtpGateway,
    PkiGateway,
    SubscriberRegistry,
    UnitOfWork,
)
from shared import crypto, tracing
from shared.clock import Clock
from shared.contracts.fields import FlowRef
from shared.contracts.registration import CounterFlowRef
from shared.events import (
    AccountCreated,
    Envelope,
    RegistrationCompleted,
    RegistrationFailed,
    new_event,
)
from shared.events.schemas import Identity as EventIdentity
from shared.logging import get_logger
from shared.storage import AlreadyProcessed

log = get_logger(__name__)


def _no_failpoint(_name: str) -> None:
    return None


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Dependencies:
    """Every port a registration method may need; each method uses its own few."""

    uow: Callable[[], UnitOfWork]
    subscribers: SubscriberRegistry
    insurance: InsuranceRegistry
    otp: OtpGateway
    pki: PkiGateway
    notices: NoticeGateway
    agent_days: AgentDayCounter
    clock: Clock
    flow_secret: str
    start_attempts: AttemptCounter
    # profile hashes and keeps the password (issue 11): no credential rides AccountCreated.
    credentials: CredentialOwner
    failpoint: Callable[[str], None] = _no_failpoint
    new_id: Callable[[], str] = field(default=_new_id)
    counter_daily_limit: int = post_office.DAILY_LIMIT
    new_username: Callable[[], str] = post_office.new_username
    new_password: Callable[[], str] = post_office.new_initial_password


@dataclass(frozen=True)
class Completion:
    """What one try of a completing unit writes besides the move to ``completed``: built
    afresh for every try (a counter registration draws a new username each time)."""

    account_id: str
    changes: dict[str, Any]
    # The events of the completed flow (AccountCreated, RegistrationCompleted).
    events: Callable[[RegistrationFlow], list[Envelope]]
    # A method's own record written in the same unit (the counter registration).
    also: Callable[[UnitOfWork], Awaitable[None]] | None = None


class Flows:
    """Load, store, move, fail and complete flows of any method."""

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    async def load(self, ref: FlowRef) -> RegistrationFlow:
        """The flow named by ``id`` if ``flow_token`` is its token; otherwise not_found,
        whichever of the two was wrong."""
        candidate = crypto.keyed_hash(self.deps.flow_secret, ref.flow_token)
        flow = await self.find(ref.id)
        if flow is None or flow.flow_token_hash is None or not crypto.same(
                flow.flow_token_hash, candidate):
            raise FlowNotFound()
        return flow

    async def load_for_agent(self, ref: CounterFlowRef) -> RegistrationFlow:
        """The counter flow named by ``id`` if the calling agent started it and it is still
        open."""
        flow = await self.find(ref.id)
        if flow is None:
            raise FlowNotFound()
        post_office.require_open_for(flow, ref.agent_account_id, self.deps.clock())
        return flow

    async def find(self, registration_id: str) -> RegistrationFlow | None:
        async with self.deps.uow() as uow:
            return await uow.registrations.get(registration_id)

    async def current(self, registration_id: str) -> RegistrationFlow:
        flow = await self.find(registration_id)
        if flow is None:
            raise FlowNotFound()
        return flow

    async def add(self, flow: RegistrationFlow, events: Iterable[Envelope] = ()) -> None:
        async with self.deps.uow() as uow:
            await uow.registrations.add(flow)
            for event in events:
                uow.emit(event)
            await uow.commit()

    async def refuse_duplicate(self, identity_key: str) -> None:
        """A friendly answer before anything is made; the unique index at completion is what
        guarantees one account per person."""
        async with self.deps.uow() as uow:
            if await uow.identities.exists(identity_key):
                raise AccountExists()

    async def advance(self, flow: RegistrationFlow, from_status: Status, to_status: Status,
                      changes: dict[str, Any] | None = None) -> RegistrationFlow | None:
        """Moves a live flow on; None when it is not at ``from_status`` any more. An event
        consumer may write the same flow at this very moment (a write conflict): try again,
        and find it moved or move it."""
        now = self.deps.clock()

        async def unit() -> RegistrationFlow | None:
            async with self.deps.uow() as uow:
                moved = await uow.registrations.transition(
                    flow.id, from_status=from_status, to_status=to_status, now=now,
                    changes=changes)
                await uow.commit()
                return moved

        return await retrying_conflicts(unit)

    async def complete(self, flow: RegistrationFlow, from_status: Status,
                       completion: Callable[[datetime], Completion]) -> RegistrationFlow | None:
        """One unit: the flow completes, the identity is taken (AccountExists if it is
        someone's), the account is announced. None when the flow was not at ``from_status``
        any more (a parallel call completed it, or it expired)."""
        async def unit() -> RegistrationFlow | None:
            now = self.deps.clock()
            attempt = completion(now)
            async with self.deps.uow() as uow:
                completed = await uow.registrations.transition(
                    flow.id, from_status=from_status, to_status=Status.COMPLETED, now=now,
                    changes={**attempt.changes, "account_id": attempt.account_id,
                             "completed_at": now})
                if completed is None:
                    return None
                assert completed.identity is not None
                await uow.identities.add(IdentityRecord(
                    key=completed.identity.key, account_id=attempt.account_id,
                    subject_type=completed.subject_type, created_at=now,
                    registration_id=completed.id))
                if attempt.also is not None:
                    await attempt.also(uow)
                for event in attempt.events(completed):
                    uow.emit(event)
                await uow.commit()
                return completed

        return await retrying_conflicts(unit, retry_on=(UsernameTaken,))

    async def settled(self, flow: RegistrationFlow, from_status: Status) -> RegistrationFlow:
        """After a completion found the flow moved: completed by a parallel try (a retry of
        this step) is the same answer; anything else is the error ``require`` gives."""
        current = await self.current(flow.id)
        if current.status == Status.COMPLETED:
            return current
        current.require(from_status, self.deps.clock())
        raise AssertionError("unreachable: require() raised")

    async def fail(self, flow: RegistrationFlow, from_status: Status, code: str) -> None:
        """The flow fails with ``code`` (and RegistrationFailed is announced) unless it has
        moved on. An event consumer may be failing or moving the same flow at this instant
        (e.g. CertificateValidated finding the same duplicate): on a write conflict the unit
        runs again and finds the flow already failed, so the caller still gets its refusal,
        never an internal error."""
        now = self.deps.clock()

        async def unit() -> None:
            async with self.deps.uow() as uow:
                failed = await uow.registrations.transition(
                    flow.id, from_status=from_status, to_status=Status.FAILED, now=now,
                    changes={"code": code}, only_if_live=False)
                if failed is not None:
                    uow.emit(failed_event(failed, code, now))
                await uow.commit()

        await retrying_conflicts(unit)
        log.info("registration failed", registration_id=flow.id, method=flow.method, code=code)


class FlowEvents:
    """A consumer of other services' facts about registration flows."""

    def __init__(self, flows: Flows) -> None:
        self.flows = flows

    async def once(self, consumer: str, event: Envelope,
                   apply: Callable[[UnitOfWork], Awaitable[None]]) -> None:
        """``apply`` in one unit with the mark that ``consumer`` handled ``event``: a
        redelivered event changes nothing more."""
        async with self.flows.deps.uow() as uow:
            try:
                await uow.mark_processed(consumer, event.id)
            except AlreadyProcessed:
                return
            await apply(uow)
            await uow.commit()


@contextmanager
def step_span(flow: RegistrationFlow, step: str) -> Iterator[None]:
    """The span of a later step of ``flow``: a child of the context stored at its start (so a
    registration is one trace however many requests it takes), linked to the request span that
    asked for the step. A flow started without tracing is traced under the request."""
    parent = tracing.context_from(flow.trace_context)
    with tracing.span(f"registration.{step}", attributes={
            "dvcid.flow_id": flow.id, "dvcid.step": step, "dvcid.method": flow.method},
            parent=parent, links=tracing.current_links() if parent is not None else ()):
        yield


def completion_events(flow: RegistrationFlow, now: datetime, identity: EventIdentity,
                      **method_fields: Any) -> list[Envelope]:
    """AccountCreated (from the completed flow, with the identity and the fields its method
    adds) and, caused by it, RegistrationCompleted: what every completed flow announces
    (profile makes the account from the first)."""
    assert flow.account_id is not None and flow.level is not None
    # model_validate: a method's additive fields ride as extras (the schema allows them).
    created = AccountCreated.model_validate({
        "account_id": flow.account_id, "registration_id": flow.id,
        "subject_type": flow.subject_type, "method": flow.method, "level": flow.level,
        "identity": identity, "phone": flow.phone, "email": flow.email,
        "created_at": rfc3339(now), **method_fields})
    account_event = new_event(created, correlation_id=flow.id, occurred_at=now)
    completed = RegistrationCompleted(registration_id=flow.id, account_id=flow.account_id,
                                      method=flow.method, level=flow.level)
    return [account_event,
            new_event(completed, correlation_id=flow.id, causation_id=account_event.id,
                      occurred_at=now)]


def failed_event(flow: RegistrationFlow, code: str, now: datetime,
                 causation_id: str | None = None) -> Envelope:
    return new_event(RegistrationFailed(registration_id=flow.id, method=flow.method, code=code),
                     correlation_id=flow.id, causation_id=causation_id, occurred_at=now)
