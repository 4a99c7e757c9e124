"""The guard collections against a real server: counters stay exact under parallel hits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.profile.adapters.guards import GUARD_INDEXES, MongoGuardStore
from shared.storage import connect_mongo, ensure_indexes

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


@pytest.fixture
async def store(test_servers: Any) -> AsyncIterator[MongoGuardStore]:
    client = connect_mongo(test_servers.mongo_url)
    database = client[f"t{uuid.uuid4().hex[:8]}_profile"]
    await ensure_indexes(database, GUARD_INDEXES)
    yield MongoGuardStore(database)
    await client.drop_database(database.name)
    await client.close()


async def test_fifty_parallel_hits_get_fifty_distinct_counts(store: MongoGuardStore) -> None:
    counts = await asyncio.gather(*(store.counters.hit("k", NOW, WINDOW) for _ in range(50)))
    assert sorted(c.value for c in counts) == list(range(1, 51))
    assert {c.window_ends for c in counts} == {NOW + WINDOW}


async def test_a_window_that_is_over_starts_again_and_give_back_counts_down(
        store: MongoGuardStore) -> None:
    for _ in range(3):
        await store.counters.hit("k", NOW, WINDOW)
    await store.counters.give_back("k", NOW)
    assert (await store.counters.hit("k", NOW, WINDOW)).value == 3
    later = NOW + WINDOW
    count = await store.counters.hit("k", later, WINDOW)
    assert (count.value, count.window_ends) == (1, later + WINDOW)


async def test_a_lock_keeps_the_later_end_and_a_captcha_is_taken_once(
        store: MongoGuardStore) -> None:
    await store.locks.lock("n", NOW + WINDOW)
    await store.locks.lock("n", NOW + timedelta(minutes=1))
    assert await store.locks.locked_until("n", NOW) == NOW + WINDOW
    assert await store.locks.locked_until("n", NOW + WINDOW) is None
    await store.captchas.add("c", "hash", NOW + timedelta(minutes=5))
    taken = await asyncio.gather(*(store.captchas.take("c", NOW) for _ in range(5)))
    assert taken.count("hash") == 1
