"""The account-management Mongo adapters on a real server: the conditional updates that keep
at most five phones and never remove a method from a changed set, and session revocation
scoped to the account."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.profile.adapters.account_mongo import (
    MongoManagedAccounts,
    MongoManagedSessions,
    MongoStepUps,
)
from services.profile.adapters.mongo import MongoStore
from services.profile.adapters.unit_of_work import PROFILE_INDEXES, ProfileUnitOfWork
from services.profile.domain.models import AuthMethod, Identity, Session, open_account
from services.profile.domain.step_up import StepUp
from shared.storage import connect_mongo, ensure_indexes

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def db(test_servers: Any) -> AsyncIterator[Any]:
    client = connect_mongo(test_servers.mongo_url)
    database = client[f"t{uuid.uuid4().hex[:8]}_profile"]
    await ensure_indexes(database, PROFILE_INDEXES)
    yield database
    await client.drop_database(database.name)
    await client.close()


async def _account(db: Any, account_id: str = "acc-1") -> None:
    ids = iter(f"{account_id}-{n}" for n in range(100))
    account = open_account(account_id=account_id, registration_id="r", subject_type="citizen",
                           method="mobile", level=2,
                           identity=Identity(f"0010990{account_id[-1]}2345", "Nguyễn Văn An"),
                           phone="+84912345000", email=None, password_hash="$argon2id$x",
                           created_at=NOW, certificate={}, new_id=lambda: next(ids))
    await MongoStore(db).accounts.add(account)


async def test_phones_are_capped_and_methods_removed_only_from_an_unchanged_set(db: Any) -> None:
    await _account(db)
    accounts = MongoManagedAccounts(db)
    for n in range(1, 5):
        method = AuthMethod(f"m{n}", "sms", NOW, phone_id=f"p{n}")
        assert await accounts.add_phone_method("acc-1", method, f"+8491234500{n}", NOW, 5)
    sixth = AuthMethod("m6", "sms", NOW, phone_id="p6")
    assert not await accounts.add_phone_method("acc-1", sixth, "+84912345009", NOW, 5)
    account = await MongoStore(db).accounts.get("acc-1")
    assert account is not None and len(account.phones) == 5
    ids = [m.method_id for m in account.auth_methods]
    removed = next(m for m in account.auth_methods if m.method_id == "m1")
    assert not await accounts.remove_method("acc-1", removed, ids[:-1])  # a stale set
    assert await accounts.remove_method("acc-1", removed, ids)
    account = await MongoStore(db).accounts.get("acc-1")
    assert account is not None and "m1" not in [m.method_id for m in account.auth_methods]
    assert "p1" not in [p.phone_id for p in account.phones]


async def test_a_session_is_revoked_only_by_its_account(db: Any) -> None:
    sessions = MongoManagedSessions(db)
    live = Session(session_id="s1", token_hash="h1", account_id="acc-1", level=2,
                   method="password", login_id="l", created_at=NOW, last_seen_at=NOW,
                   idle_expires_at=NOW + timedelta(minutes=30),
                   absolute_expires_at=NOW + timedelta(hours=12))
    await MongoStore(db).sessions.add(live)
    assert [s.session_id for s in await sessions.active("acc-1", NOW)] == ["s1"]
    assert await sessions.revoke_one("acc-2", "s1", NOW) is None
    async with ProfileUnitOfWork(db.client, db) as uow:
        assert await uow.managed_sessions.revoke_one("acc-1", "s1", NOW) is not None
        await uow.commit()
    assert await sessions.active("acc-1", NOW) == []


async def test_a_step_up_is_recorded_on_the_live_session_only(db: Any) -> None:
    sessions = MongoManagedSessions(db)
    live = Session(session_id="s1", token_hash="h1", account_id="acc-1", level=2,
                   method="password", login_id="l", created_at=NOW, last_seen_at=NOW,
                   idle_expires_at=NOW + timedelta(minutes=30),
                   absolute_expires_at=NOW + timedelta(hours=12))
    await MongoStore(db).sessions.add(live)
    assert await sessions.mark_reauthenticated("s1", NOW, 3)
    touched = await MongoStore(db).sessions.touch("h1", NOW, NOW + timedelta(minutes=30))
    assert touched is not None
    assert (touched.reauthenticated_at, touched.reauthenticated_level) == (NOW, 3)
    await MongoStore(db).sessions.revoke("h1", NOW)
    assert not await sessions.mark_reauthenticated("s1", NOW, 3)


async def test_a_step_up_flow_finishes_once_and_only_while_live(db: Any) -> None:
    flow = StepUp(flow_id="su-1", account_id="acc-1", session_id="s1", method="password",
                  status="otp_sent", created_at=NOW, expires_at=NOW + timedelta(minutes=5),
                  phone="+84912345000")
    step_ups = MongoStepUps(db)
    await step_ups.add(flow)
    assert await step_ups.get("su-1") == flow
    assert not await step_ups.finish("su-1", "otp_sent", "completed", NOW + timedelta(minutes=6))
    assert await step_ups.finish("su-1", "otp_sent", "completed", NOW)
    assert not await step_ups.finish("su-1", "otp_sent", "completed", NOW)


async def test_a_removed_phone_is_still_found_for_the_notice_of_its_removal(db: Any) -> None:
    await _account(db)
    accounts = MongoManagedAccounts(db)
    account = await MongoStore(db).accounts.get("acc-1")
    assert account is not None
    [phone] = account.phones
    sms = next(m for m in account.auth_methods if m.type == "sms")
    await accounts.add_phone_method("acc-1", AuthMethod("m2", "sms", NOW, phone_id="p2"),
                                    "+84912345002", NOW, 5)
    ids = [m.method_id for m in account.auth_methods] + ["m2"]
    assert await accounts.remove_method("acc-1", sms, ids)
    await accounts.keep_former_phone("acc-1", phone, NOW)
    assert await accounts.phone_numbers("acc-1", [phone.phone_id, "p2", "unknown"]) == {
        phone.phone_id: "+84912345000", "p2": "+84912345002"}


async def test_the_notice_of_a_new_e_mail_goes_to_the_address_it_replaced(db: Any) -> None:
    await _account(db)
    accounts = MongoManagedAccounts(db)
    await accounts.update_contacts("acc-1", {"email": "cu@example.vn"})
    assert await accounts.notice_email("acc-1", "ev-1") == "cu@example.vn"
    await accounts.keep_former_email("acc-1", "cu@example.vn", "ev-1", NOW)
    await accounts.update_contacts("acc-1", {"email": "moi@example.vn"})
    assert await accounts.notice_email("acc-1", "ev-1") == "cu@example.vn"
    assert await accounts.notice_email("acc-1", "ev-2") == "moi@example.vn"
    assert await accounts.notice_email("nobody", "ev-1") is None
