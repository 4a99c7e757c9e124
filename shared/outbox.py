"""The relay that publishes committed outbox events to JetStream.

Publishing uses the event id as ``Nats-Msg-Id``, so a crash between publish and delete only
re-sends an event that JetStream de-duplicates and consumers ignore.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from nats.js import JetStreamContext
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared import metrics, tracing
from shared.failpoints import Failpoints
from shared.logging import get_logger
from shared.storage import OUTBOX
from shared.tasks import stop_task
from shared.tracing import SpanKind

log = get_logger(__name__)

# How often the relay measures its backlog for the metrics (at most, one count per interval).
BACKLOG_MEASURE_SECONDS = 1.0


class OutboxRelay:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        js: JetStreamContext,
        failpoints: Failpoints | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self._db = db
        self._js = js
        self._failpoints = failpoints or Failpoints()
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # When a pass over the outbox last went through (liveness: shared/liveness.py).
        self._last_pass = time.monotonic()
        self._last_measure = 0.0

    def notify(self) -> None:
        """Called after each commit so events leave at once rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        await stop_task(self._task)

    async def _run(self) -> None:
        while True:
            # Cleared before the pass, not after it: a commit notified while the pass runs
            # (its event after the pass's query) starts the next pass at once; cleared after,
            # that wake-up was lost and the event waited for the poll.
            self._wake.clear()
            try:
                await self.publish_pending()
                self._last_pass = time.monotonic()
            except Exception:
                log.exception("outbox relay failed; retrying")
            await self._measure_backlog()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    def problem(self, grace: float = 60.0) -> str | None:
        """Liveness: None while the relay runs and its passes go through."""
        if self._task is None or self._task.done():
            return "outbox relay stopped"
        if time.monotonic() - self._last_pass > grace:
            return "outbox relay failing"
        return None

    async def _measure_backlog(self) -> None:
        """The backlog for the metrics, once per interval: how many events wait and how old
        the oldest is (its ``seq`` is its commit time in microseconds, shared/storage.py)."""
        if time.monotonic() - self._last_measure < BACKLOG_MEASURE_SECONDS:
            return
        self._last_measure = time.monotonic()
        try:
            pending = await self._db[OUTBOX].count_documents({})
            oldest = await self._db[OUTBOX].find_one(
                {}, {"seq": 1}, sort=[("seq", ASCENDING)]) if pending else None
        except Exception as exc:  # the pass itself says why the database is out of reach
            log.debug("outbox backlog not measured", error=type(exc).__name__)
            return
        age = time.time() - oldest["seq"] / 1_000_000 if oldest else 0.0
        metrics.outbox_backlog(pending, age)

    async def publish_pending(self) -> int:
        published = 0
        cursor = self._db[OUTBOX].find({}).sort([("seq", ASCENDING), ("_id", ASCENDING)])
        async for doc in cursor.limit(500):
            self._failpoints.hit("outbox.before_publish")
            await self._publish(doc)
            metrics.event_published(doc["subject"])
            self._failpoints.hit("outbox.after_publish")
            await self._db[OUTBOX].delete_one({"_id": doc["_id"]})
            published += 1
        return published

    async def _publish(self, doc: dict[str, Any]) -> None:
        """Publishes one outbox document under a PRODUCER span, child of the trace stored with
        it at commit (a document without one, written before tracing, publishes as before)."""
        event_type = doc["subject"].rsplit(".", 1)[-1]
        parent = tracing.context_from(doc.get(tracing.TRACEPARENT), doc.get(tracing.TRACESTATE))
        with tracing.span(f"publish {event_type}", SpanKind.PRODUCER, {
            "messaging.system": "nats", "messaging.operation.type": "publish",
            "messaging.destination.name": doc["subject"], "messaging.message.id": doc["_id"],
            "dvcid.event_type": event_type, "dvcid.event_id": doc["_id"],
        }, parent=parent):
            await self._js.publish(doc["subject"], doc["data"].encode(),
                                   headers=tracing.inject({"Nats-Msg-Id": doc["_id"]}))
