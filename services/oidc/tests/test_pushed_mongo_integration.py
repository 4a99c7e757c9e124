"""The pushed authorization requests' Mongo adapter on a real server: spent once under
parallel use, held for a login (never shortened), unspent ones only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.oidc.adapters.pushed_mongo import INDEXES, MongoPushedRequests
from shared.storage import connect_mongo, ensure_indexes

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(test_servers: Any) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client = connect_mongo(test_servers.mongo_url)
    database = client[f"t{uuid.uuid4().hex[:8]}_oidc_par"]
    await ensure_indexes(database, INDEXES)
    yield database
    await client.drop_database(database.name)
    await client.close()


async def test_a_pushed_request_is_spent_once_and_held_for_a_login(
        db: AsyncDatabase[dict[str, Any]]) -> None:
    store = MongoPushedRequests(db)
    now = datetime.now(UTC).replace(microsecond=0)
    await store.add("h1", "dvc-a", {"client_id": "dvc-a", "scope": "openid"}, now,
                    now + timedelta(seconds=60))
    found = await store.get("h1")
    assert found is not None and found[0] == "dvc-a" and found[1]["scope"] == "openid"
    await store.extend("h1", now + timedelta(minutes=10))
    await store.extend("h1", now + timedelta(minutes=1))  # never shortened
    found = await store.get("h1")
    assert found is not None
    assert found[3].replace(tzinfo=UTC) == now + timedelta(minutes=10)
    spent = await asyncio.gather(*(store.spend("h1", now) for _ in range(8)))
    assert spent.count(True) == 1
    assert await store.get("h1") is None and await store.get("unknown") is None
