"""The counter's Mongo adapters on the real store: the agent's daily slots under parallel
starts, and a counter flow that completes once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.registration.adapters.mongo import MongoUnitOfWork
from services.registration.adapters.post_office_mongo import COUNTER_INDEXES, MongoAgentDays
from services.registration.config import RegistrationSettings
from services.registration.domain.errors import TransactionConflict
from services.registration.domain.flow import Agent, Status
from services.registration.domain.identity import Identity
from services.registration.domain.methods import post_office
from services.registration.domain.methods.post_office import PostOfficeApplication
from shared.runtime import Infrastructure, connect_infrastructure
from shared.storage import ensure_indexes

pytestmark = pytest.mark.integration


@pytest.fixture
async def infra(test_servers: Any) -> AsyncIterator[Infrastructure]:
    settings = RegistrationSettings(nats_url=test_servers.nats_url,
                                    mongo_url=test_servers.mongo_url,
                                    db_prefix=f"t{uuid.uuid4().hex[:8]}",
                                    nats_nkey_seed_file=test_servers.nats_seed("registration"))
    infra = await connect_infrastructure(settings, "registration")
    await ensure_indexes(infra.db, COUNTER_INDEXES)
    yield infra
    await infra.relay.stop()
    await infra.nc.drain()
    await infra.mongo.drop_database(infra.db.name)
    await infra.mongo.close()


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


async def test_parallel_starts_never_pass_the_daily_limit(infra: Infrastructure) -> None:
    days = MongoAgentDays(infra.db)
    purge = _now() + timedelta(days=2)
    taken = await asyncio.gather(*(days.claim("agent-1:2026-01-01", 5, purge) for _ in range(12)))
    assert sorted(taken) == [False] * 7 + [True] * 5
    assert await days.claim("agent-2:2026-01-01", 5, purge) is True
    assert await days.claim("agent-1:2026-01-02", 5, purge) is True


async def test_a_counter_flow_round_trips_and_completes_once(infra: Infrastructure) -> None:
    now = _now()
    application = PostOfficeApplication(
        identity=Identity("079185000001", "Lê Thị Bích", date(1985, 1, 1), "female"),
        phone="+84987654321", email=None,
        agent=Agent("agent-1", {"name": "Bưu điện Hà Nội", "code": "HN-001"}))
    flow = post_office.new_flow("flow-1", application, now)
    async with MongoUnitOfWork(infra.mongo, infra.db) as uow:
        await uow.registrations.add(flow)
        await uow.commit()
    async with MongoUnitOfWork(infra.mongo, infra.db) as uow:
        assert await uow.registrations.get("flow-1") == flow

    async def complete(flow_id: str, at: datetime) -> bool:
        try:
            async with MongoUnitOfWork(infra.mongo, infra.db) as uow:
                done = await uow.registrations.transition(
                    flow_id, from_status=Status.OTP_SENT, to_status=Status.COMPLETED, now=at,
                    changes={"completed_at": at})
                await uow.commit()
                return done is not None
        except TransactionConflict:
            return False

    results = await asyncio.gather(*(complete("flow-1", now) for _ in range(5)))
    assert results.count(True) == 1
    async with MongoUnitOfWork(infra.mongo, infra.db) as uow:
        current = await uow.registrations.get("flow-1")
        assert current is not None and current.status == Status.COMPLETED
        assert current.agent == application.agent and current.flow_token_hash is None
        # An expired flow cannot complete.
        await uow.registrations.add(post_office.new_flow("flow-2", application, now))
        await uow.commit()
    assert await complete("flow-2", now + timedelta(minutes=16)) is False


async def test_a_lapsed_counter_flow_is_not_swept(infra: Infrastructure) -> None:
    """Nothing was announced for a counter flow: it lapses silently, as before."""
    now = _now()
    application = PostOfficeApplication(
        identity=Identity("079185000001", "Lê Thị Bích", date(1985, 1, 1), "female"),
        phone="+84987654321", email=None, agent=Agent("agent-1", {"name": "Bưu điện"}))
    async with MongoUnitOfWork(infra.mongo, infra.db) as uow:
        await uow.registrations.add(
            post_office.new_flow("flow-3", application, now - timedelta(hours=1)))
        await uow.commit()
    async with MongoUnitOfWork(infra.mongo, infra.db) as uow:
        assert await uow.registrations.fail_one_expired(now, {"mobile", "usb"}) is None
