"""MongoDB through PyMongo's native async API, and a unit of work that commits state, the
events it causes (outbox) and the ids of the events it consumed (idempotency) in one
transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared import metrics, tracing
from shared.events import Envelope, event_subject

OUTBOX = "outbox"
PROCESSED = "processed_events"


def connect_mongo(url: str) -> AsyncMongoClient[dict[str, Any]]:
    """One client per process: it pools connections, so requests never set one up."""
    return AsyncMongoClient(url, tz_aware=True, uuidRepresentation="standard")


async def ensure_indexes(
    db: AsyncDatabase[dict[str, Any]], indexes: dict[str, list[IndexModel]]
) -> None:
    """Creates every index a service queries by; idempotent, run at start-up."""
    base = {OUTBOX: [IndexModel([("seq", ASCENDING)])]}
    for collection, models in {**base, **indexes}.items():
        if models:
            await db[collection].create_indexes(models)


class AlreadyProcessed(Exception):
    """The consumed event was handled before: a redelivery changes nothing."""


class UnitOfWork:
    """``async with uow:`` opens a transaction; ``await uow.commit()`` makes it durable.

    Services subclass it to expose their repositories bound to ``self.session``.
    """

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db: AsyncDatabase[dict[str, Any]],
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.db = db
        self._on_commit = on_commit
        self._session: AsyncClientSession | None = None
        self._events: list[Envelope] = []

    @property
    def session(self) -> AsyncClientSession:
        assert self._session is not None, "use the unit of work inside 'async with'"
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self.client.start_session()
        await self._session.start_transaction()
        self._events = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        if session.in_transaction:
            await session.abort_transaction()
        await session.end_session()

    def emit(self, event: Envelope) -> None:
        self._events.append(event)

    async def mark_processed(self, consumer: str, event_id: str) -> None:
        """Records a consumed event id in this transaction; raises AlreadyProcessed on replay."""
        try:
            await self.db[PROCESSED].insert_one(
                {"_id": f"{consumer}:{event_id}", "at": datetime.now(UTC)}, session=self.session
            )
        except DuplicateKeyError as exc:
            raise AlreadyProcessed(event_id) from exc

    async def commit(self) -> None:
        if self._events:
            await self.db[OUTBOX].insert_many(
                [_outbox_document(e) for e in self._events], session=self.session
            )
        await self.session.commit_transaction()
        committed, self._events = self._events, []
        metrics.committed(committed)
        if self._on_commit:
            self._on_commit()


_last_seq = 0


def _next_seq() -> int:
    # Monotonic within a process; across processes the relay orders by seq, then id, which
    # keeps each flow's events in the order they were committed (one flow, one process).
    global _last_seq
    now = int(datetime.now(UTC).timestamp() * 1_000_000)
    _last_seq = max(now, _last_seq + 1)
    return _last_seq


def _outbox_document(event: Envelope) -> dict[str, Any]:
    return {
        "_id": event.id,
        "seq": _next_seq(),
        "subject": event_subject(event.type),
        "data": event.model_dump_json(),
        # The trace the commit ran in (traceparent/tracestate, when tracing is on): the relay
        # publishes the event as part of it (issue 14).
        **tracing.current_trace_fields(),
    }
