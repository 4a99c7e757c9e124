"""The Mongo adapters on a real server: the repository, the unit of work with its outbox, the
consumers' idempotency, and the race of two completions for one ID number."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.registration.adapters.mongo import (
    IDENTITIES,
    INDEXES,
    REGISTRATIONS,
    MongoUnitOfWork,
)
from services.registration.adapters.throttle_mongo import (
    START_ATTEMPTS,
    THROTTLE_INDEXES,
    MongoAttemptCounter,
)
from services.registration.bootstrap import build
from services.registration.config import RegistrationSettings
from services.registration.domain.errors import AccountExists
from services.registration.domain.flow import RegistrationFlow, Status
from services.registration.domain.identity import Identity, cccd_century_digit
from services.registration.domain.model import IdentityRecord
from services.registration.flows import Dependencies
from services.registration.tests.fakes import (
    FakeAgentDays,
    FakeCredentialOwner,
    FakeInsuranceRegistry,
    FakeNotices,
    FakeOtpGateway,
    FakePki,
    FakeSubscriberRegistry,
    Served,
)
from shared.clock import FrozenClock
from shared.events import AccountCreated, new_event
from shared.runtime import Infrastructure, connect_infrastructure
from shared.storage import ensure_indexes

pytestmark = pytest.mark.integration

PASSWORD = "Tr@ng-Sen-2026!"


@pytest.fixture
async def infra(test_servers: Any) -> AsyncIterator[Infrastructure]:
    settings = RegistrationSettings(nats_url=test_servers.nats_url,
                                    mongo_url=test_servers.mongo_url,
                                    db_prefix=f"t{uuid.uuid4().hex[:8]}",
                                    nats_nkey_seed_file=test_servers.nats_seed("registration"))
    infra = await connect_infrastructure(settings, "registration")
    await ensure_indexes(infra.db, INDEXES | THROTTLE_INDEXES)
    yield infra
    await infra.relay.stop()
    await infra.nc.drain()
    await infra.mongo.drop_database(infra.db.name)
    await infra.mongo.close()


def _now() -> datetime:
    # Real time (the TTL monitor runs on it), at BSON's millisecond precision.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass
class Setup:
    infra: Infrastructure
    clock: FrozenClock
    telco: FakeSubscriberRegistry
    otp: FakeOtpGateway
    handlers: Served

    def uow(self) -> MongoUnitOfWork:
        return MongoUnitOfWork(self.infra.mongo, self.infra.db)

    async def outbox_types(self) -> list[str]:
        docs = await self.infra.db.outbox.find({}).sort("seq", 1).to_list()
        return [d["subject"].rsplit(".", 1)[1] for d in docs]


@pytest.fixture
def setup(infra: Infrastructure) -> Setup:
    clock = FrozenClock(_now())
    telco = FakeSubscriberRegistry()
    otp = FakeOtpGateway(clock)
    handlers = build(Dependencies(
        uow=lambda: MongoUnitOfWork(infra.mongo, infra.db), subscribers=telco,
        insurance=FakeInsuranceRegistry(), otp=otp, pki=FakePki(), notices=FakeNotices(),
        agent_days=FakeAgentDays(), clock=clock, flow_secret="integration-secret",
        start_attempts=MongoAttemptCounter(infra.db[START_ATTEMPTS]),
        credentials=FakeCredentialOwner())).handlers
    served = Served(handlers)
    return Setup(infra, clock, telco, otp, served)


def _person(serial: int) -> dict[str, Any]:
    born = date(1990, 5, 17)
    id_number = f"001{cccd_century_digit(born.year, 'male')}90{serial:06d}"
    return {"subject_type": "citizen", "method": "mobile", "id_number": id_number,
            "full_name": "Nguyễn Văn An", "birth_date": born.isoformat(), "sex": "male",
            "phone": f"+849123{serial % 100000:05d}"}


async def _to_password_step(setup: Setup, person: dict[str, Any]) -> dict[str, str]:
    setup.telco.add(person["phone"], person["id_number"], person["full_name"],
                    person["birth_date"])
    flow = await setup.handlers.start(person)
    auth = {"id": flow["id"], "flow_token": flow["flow_token"]}
    await setup.handlers.submit_otp({**auth, "code": setup.otp.valid_code})
    return auth


def _registration(clock: FrozenClock, id_number: str = "001090000001") -> RegistrationFlow:
    now = clock()
    return RegistrationFlow(
        id=str(uuid.uuid4()), status=Status.OTP_SENT, method="mobile", subject_type="citizen",
        identity=Identity(id_number, "Nguyễn Văn An", date(1990, 5, 17), "male"),
        phone="+84912345678", email=None, flow_token_hash="h", created_at=now,
        expires_at=now + timedelta(minutes=30))


async def test_the_repository_round_trips_and_moves_only_from_the_expected_state(
        setup: Setup) -> None:
    registration = _registration(setup.clock)
    async with setup.uow() as uow:
        await uow.registrations.add(registration)
        await uow.commit()
    async with setup.uow() as uow:
        assert await uow.registrations.get(registration.id) == registration
        moved = await uow.registrations.transition(
            registration.id, from_status=Status.OTP_SENT, to_status=Status.AWAITING_PASSWORD,
            now=setup.clock())
        again = await uow.registrations.transition(
            registration.id, from_status=Status.OTP_SENT, to_status=Status.AWAITING_PASSWORD,
            now=setup.clock())
        await uow.commit()
    assert moved is not None and moved.status == Status.AWAITING_PASSWORD
    assert again is None
    later = setup.clock() + timedelta(minutes=31)
    async with setup.uow() as uow:
        expired = await uow.registrations.transition(
            registration.id, from_status=Status.AWAITING_PASSWORD, to_status=Status.COMPLETED,
            now=later)
        failed = await uow.registrations.transition(
            registration.id, from_status=Status.AWAITING_PASSWORD, to_status=Status.FAILED,
            now=later, changes={"code": "account_exists"}, only_if_live=False)
        await uow.commit()
    assert expired is None
    assert failed is not None and failed.code == "account_exists"


async def test_an_uncommitted_unit_leaves_nothing(setup: Setup) -> None:
    registration = _registration(setup.clock)
    async with setup.uow() as uow:
        await uow.registrations.add(registration)
    async with setup.uow() as uow:
        assert await uow.registrations.get(registration.id) is None


async def test_one_identity_per_id_number(setup: Setup) -> None:
    record = IdentityRecord("CCCD:001090000002", "acc-1", "citizen", setup.clock())
    async with setup.uow() as uow:
        await uow.identities.add(record)
        await uow.commit()
    with pytest.raises(AccountExists):
        async with setup.uow() as uow:
            await uow.identities.add(IdentityRecord("CCCD:001090000002", "acc-2", "citizen",
                                                    setup.clock()))
    async with setup.uow() as uow:
        await uow.identities.ensure(IdentityRecord("CCCD:001090000002", "acc-3", "citizen",
                                                   setup.clock()))
        await uow.commit()
    async with setup.uow() as uow:
        assert await uow.identities.exists("CCCD:001090000002")
        assert not await uow.identities.exists("CCCD:001090000003")
    rows = await setup.infra.db[IDENTITIES].find({}).to_list()
    assert [(r["_id"], r["id_number"]) for r in rows] == [("acc-1", "CCCD:001090000002")]


async def test_a_whole_registration_commits_state_and_events_together(setup: Setup) -> None:
    auth = await _to_password_step(setup, _person(1))
    answer = await setup.handlers.set_password(
        {**auth, "password": PASSWORD, "password_confirmation": PASSWORD})
    doc = await setup.infra.db[REGISTRATIONS].find_one({"_id": auth["id"]})
    assert doc is not None and doc["status"] == "completed"
    assert doc["account_id"] == answer["account_id"] and doc["level"] == 2
    assert auth["flow_token"] not in str(doc)
    assert await setup.outbox_types() == [
        "RegistrationRequested", "AccountCreated", "RegistrationCompleted"]
    # The projection keeps the typed identity key (domain/identity_keys).
    identity = await setup.infra.db[IDENTITIES].find_one(
        {"id_number": f"CCCD:{_person(1)['id_number']}"})
    assert identity is not None and identity["_id"] == answer["account_id"]


def _staging_in_step(barrier: asyncio.Barrier) -> FakeCredentialOwner:
    """Both completions get their credential at the same moment, then race into their units."""
    owner = FakeCredentialOwner()

    async def wait() -> None:
        await barrier.wait()

    owner.before_stage = wait
    return owner


async def test_two_concurrent_completions_for_one_id_number_make_one_account(
        setup: Setup) -> None:
    for round_ in range(3):
        person = _person(100 + round_)
        first = await _to_password_step(setup, person)
        second = await _to_password_step(setup, {**person, "phone": f"+8498765{round_:04d}"})
        setup.handlers.deps.credentials = _staging_in_step(asyncio.Barrier(2))
        results = await asyncio.gather(*(
            setup.handlers.set_password(
                {**auth, "password": PASSWORD, "password_confirmation": PASSWORD})
            for auth in (first, second)), return_exceptions=True)

        completed = [r for r in results if isinstance(r, dict)]
        refused = [r for r in results if isinstance(r, AccountExists)]
        assert len(completed) == 1 and len(refused) == 1, results
        statuses = sorted([
            (await setup.handlers.get(auth))["status"] for auth in (first, second)])
        assert statuses == ["completed", "failed"]
        assert await setup.infra.db[IDENTITIES].count_documents(
            {"id_number": f"CCCD:{person['id_number']}"}) == 1
    types = await setup.outbox_types()
    assert types.count("AccountCreated") == 3 and types.count("RegistrationFailed") == 3


async def test_consumers_are_idempotent_on_the_real_store(setup: Setup) -> None:
    person = _person(7)
    event = new_event(AccountCreated(
        account_id="acc-7", registration_id="elsewhere", subject_type="citizen", method="agent",
        level=3, identity={"id_number": person["id_number"], "full_name": "Nguyễn Văn An"},  # type: ignore[arg-type]
        created_at="2026-01-01T00:00:00Z"), correlation_id="elsewhere")
    await setup.handlers.on_account_created(event)
    await setup.handlers.on_account_created(event)
    assert await setup.infra.db[IDENTITIES].count_documents({}) == 1
    assert await setup.infra.db.processed_events.count_documents({}) == 1
    # The person, backed by the carrier, meets the account the projection recorded.
    setup.telco.add(person["phone"], person["id_number"], person["full_name"],
                    person["birth_date"])
    with pytest.raises(AccountExists):
        await setup.handlers.start(person)


async def test_the_ttl_and_unique_indexes_exist(setup: Setup) -> None:
    registrations = await setup.infra.db[REGISTRATIONS].index_information()
    assert registrations["purge_expired"]["expireAfterSeconds"] == 24 * 3600
    identities = await setup.infra.db[IDENTITIES].index_information()
    assert identities["one_account_per_id"]["unique"] is True


async def test_parallel_starts_are_each_counted_once_in_one_window(setup: Setup) -> None:
    counter = MongoAttemptCounter(setup.infra.db[START_ATTEMPTS])
    now, hour = _now(), timedelta(hours=1)
    counts = await asyncio.gather(*(counter.hit("k", now, hour) for _ in range(12)))
    assert sorted(c.starts for c in counts) == list(range(1, 13))
    assert {c.window_ends for c in counts} == {now + hour}
    # Past its end the window starts again at one; another key has its own.
    later = await counter.hit("k", now + hour, hour)
    assert later.starts == 1 and later.window_ends == now + 2 * hour
    assert (await counter.hit("other", now, hour)).starts == 1
