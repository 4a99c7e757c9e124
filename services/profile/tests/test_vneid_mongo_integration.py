"""The VNeID link on a real MongoDB wire server: an account found by its linked ``sub``, and
the one conditional update that links only the account of the right identity key, once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.profile.adapters.mongo import MongoStore
from services.profile.adapters.unit_of_work import PROFILE_INDEXES
from services.profile.adapters.vneid_mongo import MongoVneidAccounts
from services.profile.domain.models import Identity, open_account
from services.profile.domain.vneid import VneidIdentity, link_method
from shared.storage import connect_mongo, ensure_indexes

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CCCD = "001099012345"


@pytest.fixture
async def db(test_servers: Any) -> AsyncIterator[Any]:
    client = connect_mongo(test_servers.mongo_url)
    database = client[f"t{uuid.uuid4().hex[:8]}_profile"]
    await ensure_indexes(database, PROFILE_INDEXES)
    yield database
    await client.drop_database(database.name)
    await client.close()


async def test_a_link_is_made_once_for_the_identity_key_and_found_by_sub(db: Any) -> None:
    ids = iter(f"id-{n}" for n in range(100))
    account = open_account(account_id="acc-1", registration_id="r", subject_type="citizen",
                           method="mobile", level=2, identity=Identity(CCCD, "Nguyễn Văn An"),
                           phone="+84912345000", email=None, password_hash="$argon2id$x",
                           created_at=NOW, certificate={}, new_id=lambda: next(ids))
    await MongoStore(db).accounts.add(account)
    vneid = MongoVneidAccounts(db)
    identity = VneidIdentity(sub="sub-1", cccd=CCCD, full_name="Nguyễn Văn An")
    assert await vneid.find_by_sub("sub-1") is None

    assert not await vneid.add_link("acc-1", "CCCD:079203000111",
                                    link_method("m-x", identity, NOW))  # another key
    assert await vneid.add_link("acc-1", identity.account_key, link_method("m-1", identity, NOW))
    other = VneidIdentity(sub="sub-2", cccd=CCCD, full_name="Nguyễn Văn An")
    assert not await vneid.add_link("acc-1", identity.account_key,
                                    link_method("m-2", other, NOW))  # one vneid method

    found = await vneid.find_by_sub("sub-1")
    assert found is not None and found.account_id == "acc-1"
    assert [(m.type, m.details) for m in found.auth_methods if m.type == "vneid"] == [
        ("vneid", {"vneid_sub": "sub-1"})]
    assert await vneid.find_by_sub("sub-2") is None
