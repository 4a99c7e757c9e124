"""The expiry sweeper on the real MongoDB wire server: several sweepers racing over the same
lapsed flows fail each flow once and put exactly one RegistrationFailed per flow in the outbox;
unfinished live flows and finished ones are left alone; the index exists."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.registration.adapters.mongo import INDEXES, REGISTRATIONS, MongoUnitOfWork
from services.registration.config import RegistrationSettings
from services.registration.domain.flow import RegistrationFlow, Status
from services.registration.domain.identity import Identity
from services.registration.expiry import ExpirySweeper
from shared.clock import FrozenClock
from shared.events import Envelope, RegistrationFailed
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
    await ensure_indexes(infra.db, INDEXES)
    yield infra
    await infra.nc.drain()
    await infra.mongo.drop_database(infra.db.name)
    await infra.mongo.close()


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _flow(start: datetime, status: Status, serial: int) -> RegistrationFlow:
    return RegistrationFlow(
        id=str(uuid.uuid4()), status=status, method="bhxh" if serial % 2 else "mobile",
        subject_type="citizen",
        identity=Identity(f"001090{serial:06d}", "Nguyễn Văn An", date(1990, 5, 17), "male"),
        phone="+84912345678", email=None, flow_token_hash="h", created_at=start,
        expires_at=start + timedelta(minutes=30))


async def test_parallel_sweepers_fail_and_announce_each_lapsed_flow_once(
        infra: Infrastructure) -> None:
    clock = FrozenClock(_now())
    started = clock()
    lapsed = [_flow(started - timedelta(minutes=31), status, n) for n, status in
              enumerate([Status.OTP_SENT, Status.AWAITING_PASSWORD] * 10)]
    live = _flow(started, Status.OTP_SENT, 100)
    finished = _flow(started - timedelta(hours=1), Status.COMPLETED, 101)
    async with MongoUnitOfWork(infra.mongo, infra.db) as uow:
        for flow in [*lapsed, live, finished]:
            await uow.registrations.add(flow)
        await uow.commit()

    sweepers = [ExpirySweeper(lambda: MongoUnitOfWork(infra.mongo, infra.db), clock,
                              {"mobile", "bhxh"}) for _ in range(4)]
    counts = await asyncio.gather(*(s.sweep() for s in sweepers))
    counts.append(await sweepers[0].sweep())  # whatever a conflict left behind
    assert sum(counts) == len(lapsed)

    docs = {d["_id"]: d for d in await infra.db[REGISTRATIONS].find({}).to_list()}
    for flow in lapsed:
        assert docs[flow.id]["status"] == "failed" and docs[flow.id]["code"] == "flow_expired"
    assert docs[live.id]["status"] == "otp_sent" and "code" not in docs[live.id]
    assert docs[finished.id]["status"] == "completed"

    events = [Envelope.model_validate_json(d["data"]) for d in await infra.db.outbox.find({}).to_list()]
    failed = [e.parse(RegistrationFailed) for e in events if e.type == "RegistrationFailed"]
    assert sorted(f.registration_id for f in failed) == sorted(f.id for f in lapsed)
    assert {f.code for f in failed} == {"flow_expired"}
    assert {f.method for f in failed} == {"mobile", "bhxh"}


async def test_the_sweep_has_its_index(infra: Infrastructure) -> None:
    indexes = await infra.db[REGISTRATIONS].index_information()
    assert indexes["expiry_sweep"]["key"] == [("status", 1), ("expires_at", 1)]
    assert indexes["purge_expired"]["expireAfterSeconds"] == 24 * 3600
