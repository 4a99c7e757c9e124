"""The activity log on a real MongoDB server: a redelivered event adds nothing, concurrent
appends to one account make one unbroken chain, concurrent failures count once each."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.profile.adapters.activity_mongo import (
    ACTIVITY,
    ACTIVITY_INDEXES,
    MongoActivityLog,
)
from services.profile.domain.activity import NewEntry, burst_window, first_break
from services.profile.handlers.activity.log import ActivityLog
from shared.contracts.profile import SessionRef, SessionView, VerifyAudit
from shared.storage import connect_mongo, ensure_indexes

pytestmark = pytest.mark.integration

KEY = "integration-audit-key"
AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


async def _no_session(request: SessionRef) -> SessionView:
    raise AssertionError("not used")


@pytest.fixture
async def db(test_servers: Any) -> AsyncIterator[Any]:
    client = connect_mongo(test_servers.mongo_url)
    database = client[f"t{uuid.uuid4().hex[:8]}_profile"]
    await ensure_indexes(database, ACTIVITY_INDEXES)
    yield database
    await client.drop_database(database.name)
    await client.close()


def entry(n: int, account_id: str = "acc-1") -> NewEntry:
    return NewEntry(account_id=account_id, event_id=f"ev-{n}", kind="session_ended",
                    at=(AT + timedelta(seconds=n)).isoformat(), details={"reason": "logout"})


async def test_a_redelivered_event_is_appended_once(db: Any) -> None:
    log = ActivityLog(store=MongoActivityLog(db), key=KEY, authenticate=_no_session)
    await asyncio.gather(*(log.append(entry(1)) for _ in range(5)))
    await log.append(entry(1))
    assert await db[ACTIVITY].count_documents({"account_id": "acc-1"}) == 1


async def test_concurrent_appends_make_one_unbroken_chain(db: Any) -> None:
    store = MongoActivityLog(db)
    # Several writers (as several profile replicas would), one account.
    writers = [ActivityLog(store=MongoActivityLog(db), key=KEY, authenticate=_no_session)
               for _ in range(4)]
    await asyncio.gather(*(writers[n % 4].append(entry(n)) for n in range(1, 25)))
    entries = await store.after("acc-1", 0)
    assert [e.seq for e in entries] == list(range(1, 25))
    assert {e.event_id for e in entries} == {f"ev-{n}" for n in range(1, 25)}
    assert first_break(KEY, "acc-1", entries, await store.head("acc-1")) is None
    assert await store.head("acc-1") == (24, entries[-1].hash)
    verified = await writers[0].admin_verify_audit(VerifyAudit(account_id="acc-1"))
    assert verified.broken == [] and verified.entries == 24


async def test_pages_and_accounts_in_order(db: Any) -> None:
    store = MongoActivityLog(db)
    log = ActivityLog(store=store, key=KEY, authenticate=_no_session)
    for account in ("acc-b", "acc-a"):
        for n in range(1, 4):
            await log.append(entry(n, account))
    assert [e.seq for e in await store.page("acc-a", 2, None)] == [3, 2]
    assert [e.seq for e in await store.page("acc-a", 2, 2)] == [1]
    assert await store.next_account(None) == "acc-a"
    assert await store.next_account("acc-a") == "acc-b"
    assert await store.next_account("acc-b") is None


async def test_concurrent_failures_each_count_once(db: Any) -> None:
    store = MongoActivityLog(db)
    window = burst_window(AT)
    places = await asyncio.gather(*(store.count_failure("acc-1", window, f"f-{n}")
                                    for n in range(10)))
    assert sorted(places) == list(range(1, 11))
    assert await store.count_failure("acc-1", window, "f-3") == places[3]
