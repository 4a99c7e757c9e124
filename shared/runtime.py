"""The life of a service process: connect, prepare, serve, and stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from shared.bus import Consumer, ConsumerRunner, connect_nats, ensure_streams
from shared.contracts.base import AnswerT, RequestT, Rpc
from shared.failpoints import Failpoints
from shared.liveness import Heartbeat, heartbeat_path
from shared.logging import configure_logging, get_logger
from shared.metrics import serve_metrics
from shared.nats_tls import nats_tls_options
from shared.outbox import OutboxRelay
from shared.rpc import Endpoint, RpcServer, serving
from shared.settings import CommonSettings
from shared.storage import connect_mongo, ensure_indexes
from shared.tracing import configure_tracing, shutdown_tracing

log = get_logger(__name__)


@dataclass
class Infrastructure:
    """The connections a service gets once at start-up and shares for its whole life."""

    settings: CommonSettings
    nc: NATS
    js: JetStreamContext
    mongo: AsyncMongoClient[dict[str, Any]]
    db: AsyncDatabase[dict[str, Any]]
    relay: OutboxRelay
    failpoints: Failpoints


@dataclass
class Wiring:
    """What a service plugs into the runtime: its endpoints, consumers and indexes."""

    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    consumers: Sequence[Consumer] = ()
    indexes: dict[str, list[IndexModel]] = field(default_factory=dict)
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()
    on_stop: Sequence[Callable[[], Awaitable[None]]] = ()

    def serve(self, rpc: Rpc[RequestT, AnswerT],
              handler: Callable[[RequestT], Awaitable[AnswerT]]) -> None:
        """Add the typed endpoint of ``rpc`` (a contract in ``shared/contracts``)."""
        self.endpoints[rpc.endpoint] = serving(rpc, handler)


async def connect_infrastructure(settings: CommonSettings, service: str) -> Infrastructure:
    nc = await connect_nats(settings.nats_url, name=service,
                            seed_file=settings.nats_nkey_seed_file, identity=service,
                            **await nats_tls_options(settings.nats_tls_ca))
    js = nc.jetstream()
    await ensure_streams(js, settings.stream_replicas, settings.events_max_age_days,
                         settings.dlq_max_age_days)
    mongo = connect_mongo(settings.mongo_url)
    db = mongo[settings.database_name(service)]
    failpoints = Failpoints(settings.failpoints)
    relay = OutboxRelay(db, js, failpoints)
    return Infrastructure(settings, nc, js, mongo, db, relay, failpoints)


async def serve(
    service: str,
    version: str,
    description: str,
    settings: CommonSettings,
    wire: Callable[[Infrastructure], Awaitable[Wiring]],
) -> None:
    configure_logging(service, settings.env, settings.log_level)
    configure_tracing(service)
    if serve_metrics(settings.metrics_port, settings.metrics_host):
        log.info("metrics served", url=f"http://{settings.metrics_host}:{settings.metrics_port}/metrics")
    infra = await connect_infrastructure(settings, service)
    wiring = await wire(infra)
    await ensure_indexes(infra.db, wiring.indexes)
    infra.relay.start()
    runners = [ConsumerRunner(infra.js, c, settings.bus_ack_wait_seconds) for c in wiring.consumers]
    for runner in runners:
        await runner.start()
    rpc = RpcServer(infra.nc, service, version, description)
    for name, handler in wiring.endpoints.items():
        rpc.endpoint(name, handler)
    await rpc.start()
    tasks: list[asyncio.Task[None]] = [asyncio.create_task(job()) for job in wiring.background]
    jobs = list(tasks)
    heartbeat = Heartbeat(heartbeat_path(service, settings.heartbeat_file), [
        lambda: None if infra.nc.is_connected else "nats disconnected",
        lambda: "background job stopped" if any(job.done() for job in jobs) else None,
        infra.relay.problem, *(runner.problem for runner in runners)])
    tasks.append(asyncio.create_task(heartbeat.run(), name="heartbeat"))
    log.info("service ready", endpoints=sorted(wiring.endpoints),
             consumers=[c.durable for c in wiring.consumers])

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    log.info("service stopping")
    await rpc.stop()
    for runner in runners:
        await runner.stop()
    for task in tasks:
        task.cancel()
    await infra.relay.stop()
    for hook in wiring.on_stop:
        await hook()
    await infra.nc.drain()
    await infra.mongo.close()
    # Flushes the spans still batched (an export may wait on the collector: off the loop).
    await asyncio.to_thread(shutdown_tracing)
