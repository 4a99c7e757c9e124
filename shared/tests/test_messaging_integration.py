"""The messaging foundation on real servers: outbox, relay, consumers, idempotency, DLQ, RPC."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.bus import Consumer, ConsumerRunner
from shared.events import DLQ_STREAM, RegistrationRequested, new_event
from shared.rpc import RemoteError, RpcClient, RpcServer, ServiceUnavailable
from shared.runtime import Infrastructure, connect_infrastructure
from shared.settings import CommonSettings
from shared.storage import AlreadyProcessed, UnitOfWork, ensure_indexes

pytestmark = pytest.mark.integration


@pytest.fixture
async def infra(test_servers: Any) -> AsyncIterator[Infrastructure]:
    settings = CommonSettings(nats_url=test_servers.nats_url, mongo_url=test_servers.mongo_url,
                              db_prefix=f"t{uuid.uuid4().hex[:8]}",
                              nats_nkey_seed_file=test_servers.nats_seed("test"))
    infra = await connect_infrastructure(settings, "shared")
    await ensure_indexes(infra.db, {})
    yield infra
    await infra.relay.stop()
    await infra.nc.drain()
    await infra.mongo.drop_database(infra.db.name)
    await infra.mongo.close()


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

    async def step(payload: dict[str, Any]) -> Any:
        if payload.get("cut"):
            raise AutoReconnect("connection closed")
        if payload.get("callee_down"):
            raise ServiceUnavailable("otp")
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
        with pytest.raises(RemoteError) as err:
            await client.call(name, "step", {})
        assert err.value.code == "internal"
    finally:
        await server.stop()
