"""The SIM prompt ledger on the real store: parallel askers cannot both prompt one phone,
a finished prompt frees the phone, the window caps the rest."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.pki.adapters.mongo import INDEXES, MongoSimPrompts
from services.pki.config import PkiSettings
from services.pki.domain.sim_prompts import PromptLimits
from shared.runtime import Infrastructure, connect_infrastructure
from shared.storage import ensure_indexes

pytestmark = pytest.mark.integration

PHONE = "+84912000222"
LIMITS = PromptLimits()


@pytest.fixture
async def infra(test_servers: Any) -> AsyncIterator[Infrastructure]:
    settings = PkiSettings(nats_url=test_servers.nats_url, mongo_url=test_servers.mongo_url,
                           db_prefix=f"t{uuid.uuid4().hex[:8]}",
                           nats_nkey_seed_file=test_servers.nats_seed("pki"))
    infra = await connect_infrastructure(settings, "pki")
    await ensure_indexes(infra.db, INDEXES)
    yield infra
    await infra.relay.stop()
    await infra.nc.drain()
    await infra.mongo.drop_database(infra.db.name)
    await infra.mongo.close()


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


async def test_one_prompt_at_a_time_then_five_in_15_minutes(infra: Infrastructure) -> None:
    prompts = MongoSimPrompts(infra.db)
    now = _now()
    until = now + timedelta(minutes=5)
    answers = await asyncio.gather(*(prompts.claim(PHONE, f"login:f{i}", now, until, LIMITS)
                                     for i in range(8)))
    granted = [i for i, a in enumerate(answers) if a is None]
    assert len(granted) == 1
    assert all(a == until for a in answers if a is not None)
    await prompts.release(PHONE, "login:other")  # another flow's release frees nothing
    assert await prompts.claim(PHONE, "login:x", now, until, LIMITS) == until
    await prompts.release(PHONE, f"login:f{granted[0]}")
    for i in range(4):
        moment = now + timedelta(seconds=i + 1)
        assert await prompts.claim(PHONE, f"login:g{i}", moment, until, LIMITS) is None
        await prompts.release(PHONE, f"login:g{i}")
    # Five prompts in the window: the sixth waits for the first to leave it.
    assert await prompts.claim(PHONE, "login:h", now + timedelta(seconds=10), until,
                               LIMITS) == now + timedelta(minutes=15)
    assert await prompts.claim("+84912000333", "login:h", now, until, LIMITS) is None
