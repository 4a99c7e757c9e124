"""Accounts written before identity keys carried their type get them, once, on a real server:
a passport holder's old account stops shadowing the CMND holder of the same digits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.profile.adapters.identity_key_migration import MIGRATIONS, migrate_identity_keys
from services.profile.adapters.mongo import ACCOUNTS, INDEXES, MongoStore
from shared.storage import connect_mongo, ensure_indexes

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def db(test_servers: Any) -> AsyncIterator[Any]:
    client = connect_mongo(test_servers.mongo_url)
    database = client[f"t{uuid.uuid4().hex[:8]}_profile"]
    await ensure_indexes(database, INDEXES)
    yield database
    await client.drop_database(database.name)
    await client.close()


def legacy(account_id: str, number: str, *, subject_type: str = "citizen",
           roles: list[str] | None = None, username: str | None = None) -> dict[str, Any]:
    """An account document as the service wrote it before the typed keys."""
    key = f"agent:{number}" if roles else number
    doc: dict[str, Any] = {
        "_id": account_id, "subject_type": subject_type, "level": 2,
        "identity": {"id_number": number, "full_name": "Nguyễn Văn An", "birth_date": None,
                     "sex": None},
        "id_number": key, "phones": [], "auth_methods": [], "created_at": NOW,
        "registration_id": "r", "roles": roles or [], "organisation": {}}
    if username:
        doc["username"] = username
    return doc


async def test_old_keys_get_their_type_once(db: Any) -> None:
    await db[ACCOUNTS].insert_many([
        legacy("cmnd", "123456789", username="123456789"),
        legacy("cccd", "001090123456", username="001090123456"),
        legacy("passport", "B1234567", username="B1234567"),
        legacy("enterprise", "0100109106", subject_type="enterprise"),
        legacy("agent", "001088001122", roles=["agent"], username="NV00000001"),
    ])
    assert await migrate_identity_keys(db) == 5
    keys = {d["_id"]: d["id_number"] async for d in db[ACCOUNTS].find({})}
    assert keys == {"cmnd": "CMND:123456789", "cccd": "CCCD:001090123456",
                    "passport": "HC:B1234567", "enterprise": "MST:0100109106",
                    "agent": "agent:CCCD:001088001122"}
    store = MongoStore(db)
    found = await store.accounts.find_by_login_name("123456789")
    assert found is not None and found.account_id == "cmnd"
    assert found.identity.id_type == "CMND"
    # A passport number is no login name any more.
    assert await store.accounts.find_by_login_name("B1234567") is None
    assert await db[MIGRATIONS].count_documents({}) == 1

    # Marked done: a later start does not scan again.
    await db[ACCOUNTS].insert_one(legacy("late", "987654321"))
    assert await migrate_identity_keys(db) == 0
