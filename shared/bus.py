"""The event bus on NATS JetStream: streams, publishing and durable consumers.

Delivery is at least once; handlers make it effectively once by recording processed event ids
in the same transaction as their state change (``UnitOfWork.mark_processed``). A message that
keeps failing goes to the dead-letter stream with the error, for an operator to replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from shared.events import (
    DLQ_STREAM,
    DLQ_SUBJECT_PREFIX,
    EVENTS_STREAM,
    EVENTS_SUBJECT_PREFIX,
    Envelope,
    event_subject,
)
from shared.logging import get_logger

log = get_logger(__name__)

EventHandler = Callable[[Envelope], Awaitable[None]]

# Redelivery waits between attempts; the last one is reused until max_deliver.
BACKOFF_SECONDS = (0.5, 2.0, 5.0, 15.0)
MAX_DELIVER = 6


async def connect_nats(url: str, name: str) -> NATS:
    async def on_error(exc: Exception) -> None:
        log.warning("nats error", error=str(exc))

    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        error_cb=on_error,
    )


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Creates the event and dead-letter streams, or raises their replica count to the one
    configured; otherwise leaves them as they are: idempotent."""
    streams = [
        StreamConfig(
            name=EVENTS_STREAM,
            subjects=[f"{EVENTS_SUBJECT_PREFIX}.>"],
            storage=StorageType.FILE,
            duplicate_window=300.0,
            max_age=30 * 24 * 3600.0,
            num_replicas=replicas,
        ),
        StreamConfig(
            name=DLQ_STREAM,
            subjects=[f"{DLQ_SUBJECT_PREFIX}.>"],
            storage=StorageType.FILE,
            max_age=90 * 24 * 3600.0,
            num_replicas=replicas,
        ),
    ]
    for config in streams:
        assert config.name is not None
        try:
            info = await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
            continue
        if (info.config.num_replicas or 1) < replicas:
            info.config.num_replicas = replicas
            await js.update_stream(info.config)


async def publish(js: JetStreamContext, event: Envelope) -> None:
    """Direct publish, for tests and tools; services publish through their outbox."""
    await js.publish(
        event_subject(event.type), event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
    )


@dataclass
class Consumer:
    """One durable pull consumer: ``durable`` names it on the server (``<service>-<purpose>``)."""

    durable: str
    event_types: Sequence[str]
    handler: EventHandler
    max_deliver: int = MAX_DELIVER


class ConsumerRunner:
    def __init__(self, js: JetStreamContext, consumer: Consumer, ack_wait: float = 30.0) -> None:
        self._js = js
        self._consumer = consumer
        self._ack_wait = ack_wait
        self._task: asyncio.Task[None] | None = None
        self._sub: JetStreamContext.PullSubscription | None = None

    async def start(self) -> None:
        c = self._consumer
        config = ConsumerConfig(
            durable_name=c.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subjects=[event_subject(t) for t in c.event_types],
            max_deliver=c.max_deliver,
            ack_wait=self._ack_wait,
            max_ack_pending=1000,
        )
        await self._js.add_consumer(EVENTS_STREAM, config)
        self._sub = await self._js.pull_subscribe_bind(c.durable, stream=EVENTS_STREAM)
        self._task = asyncio.create_task(self._loop(self._sub), name=f"consumer-{c.durable}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sub:
            # Without this the connection's drain waits for the pull subscription to time out.
            await self._sub.unsubscribe()
            self._sub = None

    async def _loop(self, sub: JetStreamContext.PullSubscription) -> None:
        while True:
            try:
                msgs = await sub.fetch(batch=20, timeout=1.0)
            except NatsTimeout:
                continue
            except Exception as exc:  # connection loss: the client reconnects by itself
                log.warning("fetch failed", consumer=self._consumer.durable, error=str(exc))
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                await self._handle(msg)

    async def _handle(self, msg: Msg) -> None:
        c = self._consumer
        try:
            event = Envelope.model_validate_json(msg.data)
        except ValueError as exc:
            await self._dead_letter(msg, f"malformed envelope: {exc}")
            return
        try:
            await c.handler(event)
        except Exception as exc:
            attempt = msg.metadata.num_delivered
            if attempt >= c.max_deliver:
                log.error("event dead-lettered", consumer=c.durable, event_id=event.id,
                          type=event.type, error=repr(exc))
                await self._dead_letter(msg, repr(exc))
                return
            delay = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1]
            log.warning("event handler failed; will retry", consumer=c.durable,
                        event_id=event.id, type=event.type, attempt=attempt, error=repr(exc))
            await msg.nak(delay=delay)
            return
        await msg.ack()

    async def _dead_letter(self, msg: Msg, error: str) -> None:
        headers = {"Dvcid-Error": error[:500], "Dvcid-Consumer": self._consumer.durable,
                   "Dvcid-Original-Subject": msg.subject}
        await self._js.publish(f"{DLQ_SUBJECT_PREFIX}.{self._consumer.durable}", msg.data,
                               headers=headers)
        await msg.term()


async def replay_dead_letters(js: JetStreamContext, consumer: str, limit: int = 1000) -> int:
    """Operator tool: republish a consumer's dead letters to their original subjects."""
    sub = await js.pull_subscribe(f"{DLQ_SUBJECT_PREFIX}.{consumer}", durable=None,
                                  stream=DLQ_STREAM)
    replayed = 0
    with contextlib.suppress(NatsTimeout):
        while replayed < limit:
            for msg in await sub.fetch(batch=50, timeout=1.0):
                subject = (msg.headers or {}).get("Dvcid-Original-Subject")
                if subject:
                    event_id = json.loads(msg.data).get("id")
                    # A fresh message id: the original is inside the de-duplication window.
                    replay_id = f"replay-{event_id}-{msg.metadata.sequence.stream}"
                    await js.publish(subject, msg.data, headers={"Nats-Msg-Id": replay_id})
                    replayed += 1
                await msg.ack()
    await sub.unsubscribe()
    return replayed
