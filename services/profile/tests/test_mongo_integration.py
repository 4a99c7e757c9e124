"""The Mongo adapters on a real server: unique indexes, the session touch that cannot revive
an expired session, and one session from parallel submits of one login flow."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError

from services.profile.adapters.activity_mongo import MongoActivityLog
from services.profile.adapters.guards import GUARD_INDEXES, MongoGuardStore
from services.profile.adapters.mongo import (
    SESSIONS,
    STAGED_CREDENTIALS,
    MongoStore,
    merge_indexes,
)
from services.profile.adapters.unit_of_work import PROFILE_INDEXES, ProfileUnitOfWork
from services.profile.bootstrap import Ports, Profile, bootstrap
from services.profile.domain.errors import CredentialMissing, InvalidCredentials
from services.profile.domain.models import Identity, Session, open_account
from services.profile.handlers.credentials import CredentialStaging
from services.profile.tests.fakes import (
    TEST_SETTINGS,
    FakeImages,
    FakeNotices,
    FakeOtp,
    RecordingFailpoints,
    Served,
    fast_hash,
    fast_password_hash,
    sequential_ids,
)
from services.profile.tests.test_handlers import (
    ID_NUMBER,
    PASSWORD,
    account_created,
    stage,
)
from shared.clock import FrozenClock
from shared.contracts.otp import VerifiedOtp
from shared.storage import PROCESSED, connect_mongo, ensure_indexes

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def db(test_servers: Any) -> AsyncIterator[Any]:
    client = connect_mongo(test_servers.mongo_url)
    database = client[f"t{uuid.uuid4().hex[:8]}_profile"]
    await ensure_indexes(database, merge_indexes(PROFILE_INDEXES, GUARD_INDEXES))
    yield database
    await client.drop_database(database.name)
    await client.close()


def _profile(db: Any, otp: FakeOtp | None = None, clock: FrozenClock | None = None) -> Profile:
    """The service's use cases on this database (the other services faked)."""
    return bootstrap(TEST_SETTINGS, Ports(
        uow=lambda: ProfileUnitOfWork(db.client, db), store=MongoStore(db),
        guard_store=MongoGuardStore(db), activity_store=MongoActivityLog(db),
        otp=otp or FakeOtp(), pki=None, notices=FakeNotices(), subscribers=None,
        images=FakeImages(), clock=clock or FrozenClock(), failpoints=RecordingFailpoints(),
        hash_password=fast_hash))


def _account(account_id: str, id_number: str, subject_type: str = "citizen") -> Any:
    return open_account(account_id=account_id, registration_id="r", subject_type=subject_type,
                        method="mobile", level=2, identity=Identity(id_number, "Nguyễn Văn An"),
                        phone="+84912345567", email=None, password_hash="h", created_at=NOW,
                        certificate={}, new_id=sequential_ids(account_id))


async def test_an_account_round_trips_and_is_found_by_its_login_name(db: Any) -> None:
    store = MongoStore(db)
    account = _account("a1", ID_NUMBER)
    await store.accounts.add(account)
    assert await store.accounts.get("a1") == account
    assert await store.accounts.find_by_login_name(ID_NUMBER) == account
    assert await store.accounts.find_by_login_name("nobody") is None


async def test_one_account_per_id_number_and_per_username(db: Any) -> None:
    store = MongoStore(db)
    await store.accounts.add(_account("a1", ID_NUMBER))
    with pytest.raises(DuplicateKeyError):
        await store.accounts.add(_account("a2", ID_NUMBER))
    with pytest.raises(DuplicateKeyError):
        await store.accounts.add(_account("a1", "079200000001"))
    # Enterprises have no username: the sparse index lets many exist.
    await store.accounts.add(_account("e1", "0101243150", "enterprise"))
    await store.accounts.add(_account("e2", "0100109106", "enterprise"))
    assert await db.accounts.count_documents({}) == 3


async def test_account_created_twice_creates_one_account(db: Any) -> None:
    profile = _profile(db)
    event = account_created()
    await profile.accounts.on_account_created(event)
    await profile.accounts.on_account_created(event)            # redelivery
    await profile.accounts.on_account_created(account_created())  # the same account, another event
    assert await db.accounts.count_documents({}) == 1
    assert await db[PROCESSED].count_documents({}) == 2


def _session(token_hash: str, *, idle: timedelta, absolute: timedelta) -> Session:
    return Session(session_id=str(uuid.uuid4()), token_hash=token_hash, account_id="a1",
                   level=2, method="password", login_id="f", created_at=NOW,
                   last_seen_at=NOW, idle_expires_at=NOW + idle,
                   absolute_expires_at=NOW + absolute)


async def test_a_token_hash_belongs_to_one_session(db: Any) -> None:
    store = MongoStore(db)
    await store.sessions.add(_session("h", idle=timedelta(minutes=30), absolute=timedelta(hours=12)))
    with pytest.raises(DuplicateKeyError):
        await store.sessions.add(_session("h", idle=timedelta(minutes=30),
                                          absolute=timedelta(hours=12)))


async def test_touch_slides_a_live_session_and_never_revives_an_ended_one(db: Any) -> None:
    store = MongoStore(db)
    await store.sessions.add(_session("live", idle=timedelta(minutes=30),
                                      absolute=timedelta(hours=12)))
    await store.sessions.add(_session("idle", idle=timedelta(minutes=30),
                                      absolute=timedelta(hours=12)))
    await store.sessions.add(_session("old", idle=timedelta(hours=13),
                                      absolute=timedelta(hours=12)))
    await store.sessions.add(_session("revoked", idle=timedelta(minutes=30),
                                      absolute=timedelta(hours=12)))
    assert await store.sessions.revoke("revoked", NOW) is not None
    assert await store.sessions.revoke("revoked", NOW) is None

    later = NOW + timedelta(minutes=20)
    touched = await store.sessions.touch("live", later, later + timedelta(minutes=30))
    assert touched is not None and touched.idle_expires_at == later + timedelta(minutes=30)
    # A slower concurrent touch never moves the expiry back.
    stale = await store.sessions.touch("live", NOW, NOW + timedelta(minutes=30))
    assert stale is not None and stale.idle_expires_at == later + timedelta(minutes=30)

    idle_over = NOW + timedelta(minutes=31)
    assert await store.sessions.touch("idle", idle_over, idle_over + timedelta(minutes=30)) is None
    past_absolute = NOW + timedelta(hours=12)
    assert await store.sessions.touch("old", past_absolute,
                                      past_absolute + timedelta(minutes=30)) is None
    assert await store.sessions.touch("revoked", NOW, NOW + timedelta(minutes=30)) is None
    ended = await db[SESSIONS].find_one({"token_hash": "idle"})
    assert ended["idle_expires_at"] == NOW + timedelta(minutes=30)
    assert ended["last_seen_at"] == NOW


async def test_history_pages_newest_first(db: Any) -> None:
    profile, store = _profile(db), MongoStore(db)
    await profile.accounts.on_account_created(account_created())
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            await Served(profile).login_start({"method": "password", "username": ID_NUMBER,
                                       "password": "wrong"})
    rows = await store.history.recent("acc-1", limit=2)
    assert len(rows) == 2 and rows[0].at >= rows[1].at
    # AccountActivated (with the account) and three LoginFailed events, committed.
    assert await db.outbox.count_documents({"subject": "dvcid.events.LoginFailed"}) == 3
    assert await db.outbox.count_documents({}) == 4


class LenientOtp(FakeOtp):
    async def verify(self, flow_id: str, purpose: str, phone: str,
                     code: str) -> VerifiedOtp:
        await asyncio.sleep(0)
        return VerifiedOtp(verified=True, phone=phone, challenge_id="c")


async def test_parallel_submits_of_one_flow_open_exactly_one_session(db: Any) -> None:
    profile = _profile(db, otp=LenientOtp())
    await profile.accounts.on_account_created(account_created())
    flow = await Served(profile).login_start({"method": "password", "username": ID_NUMBER,
                                      "password": PASSWORD})
    submit = {"id": flow["id"], "flow_token": flow["flow_token"], "code": "123456"}
    results = await asyncio.gather(*(Served(profile).login_submit_otp(submit) for _ in range(6)),
                                   return_exceptions=True)
    winners = [r for r in results if isinstance(r, dict)]
    assert len(winners) == 1, results
    assert all(getattr(r, "code", None) == "flow_state" for r in results if r not in winners)
    assert await db[SESSIONS].count_documents({}) == 1
    assert await db.outbox.count_documents({"subject": "dvcid.events.LoginSucceeded"}) == 1
    assert await db.login_flows.count_documents({"_id": flow["id"],
                                                 "status": "completed"}) == 1


async def test_a_staged_password_becomes_the_accounts_in_the_creating_transaction(
        db: Any) -> None:
    staging = CredentialStaging(credentials=MongoStore(db).credentials, clock=FrozenClock(NOW),
                                lifetime=timedelta(days=7), hash_password=_fast_hash)
    staged = (await staging.stage_credential(stage("reg-1"))).wire()
    doc = await db[STAGED_CREDENTIALS].find_one({"_id": staged["credential_id"]})
    assert doc["registration_id"] == "reg-1" and doc["password_hash"].startswith("$argon2")
    assert PASSWORD not in repr(doc)
    # Purged by TTL when no AccountCreated claims it within the events' retention.
    indexes = await db[STAGED_CREDENTIALS].index_information()
    assert indexes["expires_at_ttl"]["expireAfterSeconds"] == 0

    profile = _profile(db)
    await profile.accounts.on_account_created(account_created(credential_id=staged["credential_id"]))
    account = await MongoStore(db).accounts.get("acc-1")
    assert account is not None and account.password_hash == doc["password_hash"]
    assert await db[STAGED_CREDENTIALS].count_documents({}) == 0


async def test_no_account_is_made_when_its_staged_password_is_gone(db: Any) -> None:
    profile = _profile(db)
    with pytest.raises(CredentialMissing):
        await profile.accounts.on_account_created(account_created(credential_id="never-staged"))
    assert await db.accounts.count_documents({}) == 0
    # Nothing committed: the event is not marked processed, a replay can still succeed.
    assert await db[PROCESSED].count_documents({}) == 0


async def _fast_hash(password: str) -> str:
    return fast_password_hash(password)
