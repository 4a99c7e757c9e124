"""Rows of the duplicate projection written before identity keys carried their type get
them, once, on a real server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.registration.adapters.identity_key_migration import migrate_identity_keys
from services.registration.adapters.mongo import IDENTITIES, INDEXES
from shared.storage import connect_mongo, ensure_indexes

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(test_servers: Any) -> AsyncIterator[Any]:
    client = connect_mongo(test_servers.mongo_url)
    database = client[f"t{uuid.uuid4().hex[:8]}_registration"]
    await ensure_indexes(database, INDEXES)
    yield database
    await client.drop_database(database.name)
    await client.close()


async def test_old_rows_get_their_type_once(db: Any) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    await db[IDENTITIES].insert_many([
        {"_id": "a", "id_number": "123456789", "subject_type": "citizen", "created_at": now},
        {"_id": "b", "id_number": "001090123456", "subject_type": "citizen", "created_at": now},
        {"_id": "c", "id_number": "B1234567", "subject_type": "citizen", "created_at": now},
        {"_id": "d", "id_number": "0100109106", "subject_type": "enterprise",
         "created_at": now},
        {"_id": "e", "id_number": "CCCD:001090654321", "subject_type": "citizen",
         "created_at": now},
    ])
    assert await migrate_identity_keys(db) == 4
    keys = {d["_id"]: d["id_number"] async for d in db[IDENTITIES].find({})}
    assert keys == {"a": "CMND:123456789", "b": "CCCD:001090123456", "c": "HC:B1234567",
                    "d": "MST:0100109106", "e": "CCCD:001090654321"}
    await db[IDENTITIES].insert_one({"_id": "f", "id_number": "987654321",
                                     "subject_type": "citizen", "created_at": now})
    assert await migrate_identity_keys(db) == 0
