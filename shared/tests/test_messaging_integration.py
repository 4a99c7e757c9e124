"""The messaging foundation on real servers: outbox, relay, consumers, idempotency, DLQ, RPC,
and the gauges the metrics read from them."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from shared.bus import Consumer, ConsumerRunner
from shared.events import (
    DLQ_STREAM,
    EVENTS_STREAM,
    Envelope,
    OtpSent,
    RegistrationRequested,
    event_subject,
    new_event,
)
from shared.metrics import REGISTRY
from shared.rpc import RemoteError, RpcClient, RpcServer, ServiceUnavailable
from shared.runtime import Infrastructure
from shared.storage import AlreadyProcessed, UnitOfWork

pytestmark = pytest.mark.integration



def _requested() -> Any:
    rid = str(uuid.uuid4())
    return new_event(RegistrationRequested(registration_id=rid, method="mobile",
                                           subject_type="citizen", phone="+84912345678"),
                     correlation_id=rid)


async def _eventually(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_committed_events_reach_a_consumer_exactly_once(infra: Infrastructure) -> None:
    durable = f"test-{uuid.uuid4().hex[:8]}"
    handled: list[str] = []

    async def handler(event: Any) -> None:
        async with UnitOfWork(infra.mongo, infra.db) as uow:
            try:
                await uow.mark_processed(durable, event.id)
            except AlreadyProcessed:
                return
            await uow.db.effects.insert_one({"event": event.id}, session=uow.session)
            await uow.commit()
        handled.append(event.id)

    runner = ConsumerRunner(infra.js, Consumer(durable, ["RegistrationRequested"], handler))
    await runner.start()
    event = _requested()
    async with UnitOfWork(infra.mongo, infra.db) as uow:
        uow.emit(event)
        await uow.commit()
    # The relay publishes what was committed; publishing twice (a crash after publish and
    # before delete) must not cause a second effect.
    await infra.relay.publish_pending()
    await infra.js.publish("dvcid.events.RegistrationRequested", event.model_dump_json().encode())

    async def effects() -> bool:
        return await infra.db.effects.count_documents({"event": event.id}) >= 1

    await _eventually(effects)
    await asyncio.sleep(0.5)
    await runner.stop()
    assert await infra.db.effects.count_documents({"event": event.id}) == 1
    assert await infra.db.outbox.count_documents({}) == 0


async def test_an_aborted_unit_of_work_stores_neither_state_nor_events(infra: Infrastructure) -> None:
    with pytest.raises(RuntimeError):
        async with UnitOfWork(infra.mongo, infra.db) as uow:
            await uow.db.things.insert_one({"x": 1}, session=uow.session)
            uow.emit(_requested())
            raise RuntimeError("handler failed before commit")
    assert await infra.db.things.count_documents({}) == 0
    assert await infra.db.outbox.count_documents({}) == 0


async def test_a_message_that_keeps_failing_ends_in_the_dead_letter_stream(infra: Infrastructure) -> None:
    durable = f"test-{uuid.uuid4().hex[:8]}"
    event = _requested()
    attempts = 0

    async def failing(delivered: Any) -> None:
        nonlocal attempts
        # The stream is shared with other tests: count only this test's event.
        attempts += delivered.id == event.id
        raise ValueError("cannot handle")

    runner = ConsumerRunner(infra.js, Consumer(durable, ["RegistrationRequested"], failing,
                                               max_deliver=2))
    await runner.start()
    async with UnitOfWork(infra.mongo, infra.db) as uow:
        uow.emit(event)
        await uow.commit()
    await infra.relay.publish_pending()

    async def dead_lettered() -> bool:
        info = await infra.js.stream_info(DLQ_STREAM, subjects_filter=f"dvcid.dlq.{durable}")
        return bool(info.state.subjects and info.state.subjects.get(f"dvcid.dlq.{durable}"))

    await _eventually(dead_lettered)
    await runner.stop()
    assert attempts == 2


async def test_rpc_answers_data_domain_errors_and_unavailability(infra: Infrastructure) -> None:
    class WrongCode(Exception):
        def to_error(self) -> dict[str, Any]:
            return {"code": "otp_invalid", "detail": "Mã OTP không đúng."}

    async def echo(payload: dict[str, Any]) -> Any:
        if payload.get("wrong"):
            raise WrongCode()
        return {"echo": payload["value"]}

    name = f"t{uuid.uuid4().hex[:6]}"
    server = RpcServer(infra.nc, name, "0.1.0", "test service")
    server.endpoint("echo", echo)
    await server.start()
    client = RpcClient(infra.nc, timeout=2)
    assert await client.call(name, "echo", {"value": 7}) == {"echo": 7}
    with pytest.raises(RemoteError) as err:
        await client.call(name, "echo", {"wrong": True})
    assert err.value.code == "otp_invalid"
    await server.stop()
    with pytest.raises(ServiceUnavailable):
        await client.call(name, "echo", {"value": 1}, timeout=0.5)


async def test_an_unreachable_database_is_a_retryable_unavailability(
        infra: Infrastructure) -> None:
    # Issue 12: a step that lost its database connection (a restart, a failover) answers
    # service_unavailable (503, retried by the client), not internal (500).
    from pymongo.errors import AutoReconnect, OperationFailure

    class StillConflicting(Exception):
        """A service's retry signal, given up on (registration's TransactionConflict)."""

    async def step(payload: dict[str, Any]) -> Any:
        if payload.get("cut"):
            raise AutoReconnect("connection closed")
        if payload.get("callee_down"):
            raise ServiceUnavailable("otp")
        if payload.get("conflict"):
            conflict = OperationFailure("write conflict", 112)
            conflict._add_error_label("TransientTransactionError")
            raise StillConflicting() from conflict
        raise OperationFailure("a real refusal")

    name = f"t{uuid.uuid4().hex[:6]}"
    server = RpcServer(infra.nc, name, "0.1.0", "test service")
    server.endpoint("step", step)
    await server.start()
    client = RpcClient(infra.nc, timeout=2)
    try:
        with pytest.raises(RemoteError) as err:
            await client.call(name, "step", {"cut": True})
        assert err.value.code == "service_unavailable"
        with pytest.raises(RemoteError) as err:
            await client.call(name, "step", {"callee_down": True})
        assert err.value.code == "service_unavailable"
        # Seen in the chaos test: a write conflict that outlasted the unit's retries.
        with pytest.raises(RemoteError) as err:
            await client.call(name, "step", {"conflict": True})
        assert err.value.code == "service_unavailable"
        with pytest.raises(RemoteError) as err:
            await client.call(name, "step", {})
        assert err.value.code == "internal"
    finally:
        await server.stop()


# --- the gauges the metrics read (shared/metrics.py) ---------------------------------------

def _sent() -> Envelope:
    flow = str(uuid.uuid4())
    return new_event(OtpSent(flow_id=flow, purpose="login", challenge_id=flow,
                             expires_at="2030-01-01T00:00:00Z"), correlation_id=flow)


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_the_relay_measures_the_backlog_and_a_consumer_its_pending_events(
        infra: Infrastructure) -> None:
    async with UnitOfWork(infra.mongo, infra.db) as uow:
        for _ in range(3):
            uow.emit(_sent())
        await uow.commit()
    await infra.relay._measure_backlog()  # the relay is not started: the events wait
    assert gauge("dvcid_outbox_pending_events") == 3
    age = gauge("dvcid_outbox_oldest_event_age_seconds")
    assert age is not None and 0 <= age < 30

    durable = f"test-{uuid.uuid4().hex[:8]}"

    async def handler(_event: Envelope) -> None:
        return None

    assert await infra.relay.publish_pending() == 3
    # A durable bound without its fetch loop: only the server's count moves the gauge.
    await infra.js.add_consumer(EVENTS_STREAM, ConsumerConfig(
        durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
        filter_subjects=[event_subject("OtpSent")]))
    sub = await infra.js.pull_subscribe_bind(durable, stream=EVENTS_STREAM)
    try:
        runner = ConsumerRunner(infra.js, Consumer(durable, ["OtpSent"], handler))
        await runner._measure_pending(sub)
        pending = gauge("dvcid_consumer_pending_messages", durable=durable)
        assert pending is not None and pending >= 3
    finally:
        await sub.unsubscribe()
        await infra.js.delete_consumer(EVENTS_STREAM, durable)
