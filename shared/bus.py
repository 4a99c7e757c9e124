"""The event bus on NATS JetStream: streams, publishing and durable consumers.

Delivery is at least once; handlers make it effectively once by recording processed event ids
in the same transaction as their state change (``UnitOfWork.mark_processed``). A message that
keeps failing goes to the dead-letter stream with the error's code (never its text: an
exception's message can quote the data it choked on), for an operator to list, show, replay or
discard (``dvcid admin dlq``, dvcid/dlq.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    KeyValueConfig,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from shared import metrics, tracing
from shared.events import (
    DLQ_STREAM,
    DLQ_SUBJECT_PREFIX,
    EVENTS_STREAM,
    EVENTS_SUBJECT_PREFIX,
    Envelope,
    event_subject,
)
from shared.logging import get_logger
from shared.tasks import stop_task
from shared.tracing import SpanKind

log = get_logger(__name__)

EventHandler = Callable[[Envelope], Awaitable[None]]

# Redelivery waits between attempts; the last one is reused until max_deliver.
BACKOFF_SECONDS = (0.5, 2.0, 5.0, 15.0)
MAX_DELIVER = 6
# Retention (issue 11: days, not months); the services pass DVCID_EVENTS_MAX_AGE_DAYS and
# DVCID_DLQ_MAX_AGE_DAYS (shared.settings).
EVENTS_MAX_AGE_DAYS = 7.0
DLQ_MAX_AGE_DAYS = 14.0
_DAY = 24 * 3600.0
# Dead-letter headers (docs/messaging.md): codes and names only, never data.
ERROR_HEADER = "Dvcid-Error"
CONSUMER_HEADER = "Dvcid-Consumer"
SUBJECT_HEADER = "Dvcid-Original-Subject"
MALFORMED_ENVELOPE = "malformed_envelope"
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
# How often an idle consumer asks the server how many events wait for it (its lag metric);
# while events flow, each message's metadata says it.
PENDING_MEASURE_SECONDS = 10.0


async def connect_nats(url: str, name: str, *, seed_file: str | os.PathLike[str] | None = None,
                       identity: str | None = None,
                       error_cb: Callable[[Exception], Awaitable[None]] | None = None,
                       **options: Any) -> NATS:
    """Connects as one identity of the server's permission map (dvcid/nats_auth.py): signs in
    with its nkey seed file (``DVCID_NATS_NKEY_SEED_FILE``) and takes replies on its own
    inbox prefix ``_INBOX.<identity>``, the only one its permissions let it read."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats error", error=str(exc))
        if error_cb is not None:
            await error_cb(exc)

    if seed_file:
        options["nkeys_seed"] = str(seed_file)
    if identity is not None:
        options["inbox_prefix"] = f"_INBOX.{identity}"
    options.setdefault("max_reconnect_attempts", -1)
    return await nats.connect(
        url,
        name=name,
        reconnect_time_wait=0.5,
        error_cb=on_error,
        **options,
    )


def error_code(exc: BaseException) -> str:
    """What a dead letter says about its failure: the service error's stable code, else the
    exception's class name. Never ``str(exc)``: a message may quote an ID number or a hash."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and _CODE.fullmatch(code):
        return code
    return type(exc).__name__


async def ensure_streams(js: JetStreamContext, replicas: int = 1,
                         events_max_age_days: float = EVENTS_MAX_AGE_DAYS,
                         dlq_max_age_days: float = DLQ_MAX_AGE_DAYS) -> None:
    """Creates the event and dead-letter streams, or brings an existing one to the configured
    retention and (never down) replica count; otherwise leaves them as they are: idempotent."""
    streams = [
        StreamConfig(
            name=EVENTS_STREAM,
            subjects=[f"{EVENTS_SUBJECT_PREFIX}.>"],
            storage=StorageType.FILE,
            duplicate_window=300.0,
            max_age=events_max_age_days * _DAY,
            num_replicas=replicas,
        ),
        StreamConfig(
            name=DLQ_STREAM,
            subjects=[f"{DLQ_SUBJECT_PREFIX}.>"],
            storage=StorageType.FILE,
            max_age=dlq_max_age_days * _DAY,
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
        changed = False
        if (info.config.num_replicas or 1) < replicas:
            info.config.num_replicas, changed = replicas, True
        if info.config.max_age != config.max_age:
            # A stream made with the old 30/90 days is brought down to the configured ones.
            info.config.max_age, changed = config.max_age, True
        if changed:
            try:
                await js.update_stream(info.config)
            except NatsTimeout:
                # The permission map lets only the operator change a stream (a service could
                # widen its subjects): `dvcid admin streams` applies the settings.
                log.warning("stream settings differ from this process's and it may not change "
                            "them; run `dvcid admin streams`", stream=config.name)


async def key_value_bucket(js: JetStreamContext, config: KeyValueConfig) -> KeyValue:
    """The KV bucket ``config.bucket``, made with ``config`` the first time (the gateway's
    Idempotency-Key records, profile's session mirror). An existing bucket is opened as it is:
    its settings are changed by an operator, not by whichever instance starts first."""
    assert config.bucket
    try:
        return await js.key_value(config.bucket)
    except BucketNotFoundError:
        return await js.create_key_value(config)


async def publish(js: JetStreamContext, event: Envelope) -> None:
    """Direct publish, for tests and tools; services publish through their outbox."""
    await js.publish(event_subject(event.type), event.model_dump_json().encode(),
                     headers=tracing.inject({"Nats-Msg-Id": event.id}))


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
        # When the server last answered a fetch (messages or none): liveness.
        self._last_fetch = time.monotonic()
        self._last_pending_measure = 0.0

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
        await stop_task(self._task)
        if self._sub:
            # Without this the connection's drain waits for the pull subscription to time out.
            await self._sub.unsubscribe()
            self._sub = None

    async def _loop(self, sub: JetStreamContext.PullSubscription) -> None:
        while True:
            await self._measure_pending(sub)
            try:
                msgs = await sub.fetch(batch=20, timeout=1.0)
            except TimeoutError:
                # nats-py says "no message in time" with its own TimeoutError or, when the
                # deadline ran out between its two pull requests, asyncio's (the same base):
                # both are an idle consumer, not a failed fetch.
                self._last_fetch = time.monotonic()
                continue
            except Exception as exc:  # connection loss: the client reconnects by itself
                log.warning("fetch failed", consumer=self._consumer.durable, error=str(exc))
                await asyncio.sleep(0.5)
                continue
            self._last_fetch = time.monotonic()
            for msg in msgs:
                metrics.message_received(self._consumer.durable, msg.metadata.num_delivered,
                                         msg.metadata.num_pending)
                await self._handle(msg)

    async def _measure_pending(self, sub: JetStreamContext.PullSubscription) -> None:
        if time.monotonic() - self._last_pending_measure < PENDING_MEASURE_SECONDS:
            return
        self._last_pending_measure = time.monotonic()
        try:
            info = await sub.consumer_info()
        except Exception as exc:  # the fetch that follows says what is wrong, and retries
            log.debug("consumer info failed", consumer=self._consumer.durable,
                      error=type(exc).__name__)
            return
        metrics.pending_messages(self._consumer.durable, info.num_pending)

    def problem(self, grace: float = 60.0) -> str | None:
        """Liveness: None while the consumer runs and the server answers its fetches."""
        if self._task is None or self._task.done():
            return f"consumer {self._consumer.durable} stopped"
        if time.monotonic() - self._last_fetch > grace:
            return f"consumer {self._consumer.durable} cannot fetch"
        return None

    async def _handle(self, msg: Msg) -> None:
        c = self._consumer
        try:
            event = Envelope.model_validate_json(msg.data)
        except ValueError:
            log.error("malformed envelope dead-lettered", consumer=c.durable,
                      subject=msg.subject)
            await self._dead_letter(msg, MALFORMED_ENVELOPE)
            return
        # A CONSUMER span per delivery, child of the publisher's span (the message's
        # traceparent): the handler's RPC calls and outboxed events join the same trace.
        with tracing.span(f"consume {event.type}", SpanKind.CONSUMER, {
            "messaging.system": "nats", "messaging.operation.type": "process",
            "messaging.destination.name": msg.subject, "messaging.message.id": event.id,
            "messaging.consumer.group.name": c.durable, "dvcid.durable": c.durable,
            "dvcid.event_type": event.type, "dvcid.event_id": event.id,
            "dvcid.delivery_attempt": msg.metadata.num_delivered,
        }, parent=tracing.extract(msg.headers)) as current:
            try:
                await c.handler(event)
            except Exception as exc:
                attempt = msg.metadata.num_delivered
                code = error_code(exc)
                tracing.mark_error(current, code)
                if attempt >= c.max_deliver:
                    tracing.set_attributes(current, {"dvcid.outcome": "dead_letter"})
                    log.error("event dead-lettered", consumer=c.durable, event_id=event.id,
                              type=event.type, error=code)
                    await self._dead_letter(msg, code)
                    return
                tracing.set_attributes(current, {"dvcid.outcome": "retry"})
                delay = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1]
                log.warning("event handler failed; will retry", consumer=c.durable,
                            event_id=event.id, type=event.type, attempt=attempt, error=code)
                await msg.nak(delay=delay)
                metrics.event_handled(c.durable, "retry")
                return
            tracing.set_attributes(current, {"dvcid.outcome": "ok"})
            await msg.ack()
            metrics.event_handled(c.durable, "ok")

    async def _dead_letter(self, msg: Msg, code: str) -> None:
        # With the failed delivery's trace context: a replay continues that trace.
        headers = tracing.inject({ERROR_HEADER: code, CONSUMER_HEADER: self._consumer.durable,
                                  SUBJECT_HEADER: msg.subject})
        await self._js.publish(f"{DLQ_SUBJECT_PREFIX}.{self._consumer.durable}", msg.data,
                               headers=headers)
        await msg.term()
        metrics.event_handled(self._consumer.durable, "dead_letter")


async def replay_dead_letters(js: JetStreamContext, consumer: str, limit: int = 1000) -> int:
    """Operator tool: republish a consumer's dead letters to their original subjects."""
    sub = await js.pull_subscribe(f"{DLQ_SUBJECT_PREFIX}.{consumer}", durable=None,
                                  stream=DLQ_STREAM)
    replayed = 0
    with contextlib.suppress(NatsTimeout):
        while replayed < limit:
            for msg in await sub.fetch(batch=50, timeout=1.0):
                subject = (msg.headers or {}).get(SUBJECT_HEADER)
                if subject:
                    event_id = json.loads(msg.data).get("id")
                    # A fresh message id: the original is inside the de-duplication window.
                    replay_id = f"replay-{event_id}-{msg.metadata.sequence.stream}"
                    trace = {key: value for key, value in (msg.headers or {}).items()
                             if key in (tracing.TRACEPARENT, tracing.TRACESTATE)}
                    await js.publish(subject, msg.data,
                                     headers={"Nats-Msg-Id": replay_id, **trace})
                    replayed += 1
                await msg.ack()
    await sub.unsubscribe()
    return replayed
