"""The Mongo adapters on a real server: indexes, and the atomic rules under parallel load."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.otp.adapters.mongo import (
    CHALLENGES,
    INDEXES,
    SEND_COUNTERS,
    MongoChallenges,
    MongoTransactions,
)
from services.otp.domain.errors import OtpError
from services.otp.handlers import OtpService
from services.otp.tests.fakes import FakeSms
from shared.clock import system_clock
from shared.contracts.otp import IssueOtp, OtpPurpose, VerifyOtp
from shared.storage import OUTBOX, PROCESSED, connect_mongo, ensure_indexes

pytestmark = pytest.mark.integration

PHONE = "+84912345678"


@pytest.fixture
async def db(test_servers: Any) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client = connect_mongo(test_servers.mongo_url)
    database = client[f"t{uuid.uuid4().hex[:8]}_otp"]
    await ensure_indexes(database, INDEXES)
    yield database
    await client.drop_database(database.name)
    await client.close()


@pytest.fixture
def sms() -> FakeSms:
    return FakeSms()


@pytest.fixture
def service(db: AsyncDatabase[dict[str, Any]], sms: FakeSms) -> OtpService:
    transactions = MongoTransactions(db.client, db)
    return OtpService(transactions, MongoChallenges(db), sms, system_clock, "test-secret")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def outcome(call: Any) -> str:
    try:
        await call
    except OtpError as exc:
        return exc.code
    return "ok"


def issue_of(flow_id: str, purpose: OtpPurpose) -> IssueOtp:
    return IssueOtp(flow_id=flow_id, purpose=purpose, phone=PHONE)


def verify_of(flow_id: str, purpose: OtpPurpose, code: str) -> VerifyOtp:
    return VerifyOtp(flow_id=flow_id, purpose=purpose, code=code, phone=PHONE)


async def outbox_types(db: AsyncDatabase[dict[str, Any]]) -> list[str]:
    return [json.loads(d["data"])["type"] async for d in db[OUTBOX].find({})]


async def test_indexes_exist(db: AsyncDatabase[dict[str, Any]]) -> None:
    challenges = await db[CHALLENGES].index_information()
    assert challenges["purpose_flow_unique"]["unique"] is True
    assert challenges["purpose_flow_unique"]["key"] == [("purpose", 1), ("flow_id", 1)]
    assert challenges["purge_at_ttl"]["expireAfterSeconds"] == 0
    counters = await db[SEND_COUNTERS].index_information()
    assert counters["purge_at_ttl"]["expireAfterSeconds"] == 0
    processed = await db[PROCESSED].index_information()
    assert processed["at_ttl"]["expireAfterSeconds"] > 30 * 24 * 3600


async def test_a_hundred_parallel_wrong_guesses_count_exactly_five(
        db: AsyncDatabase[dict[str, Any]], service: OtpService, sms: FakeSms) -> None:
    reply = await service.issue(issue_of("flow-1", "login"))
    code = sms.last_code()
    guesses = [outcome(service.verify(verify_of("flow-1", "login", wrong(code))))
               for _ in range(100)]
    results = Counter(await asyncio.gather(*guesses))
    assert results == {"otp_invalid": 5, "otp_attempts_exceeded": 95}
    stored = await db[CHALLENGES].find_one({"_id": reply.challenge_id})
    assert stored is not None and stored["failures"] == 5
    # Locked: the right code no longer opens it.
    assert await outcome(service.verify(verify_of("flow-1", "login", code))) == \
        "otp_attempts_exceeded"
    assert Counter(await outbox_types(db)) == {"OtpSent": 1, "OtpFailed": 1}


async def test_a_right_code_is_accepted_once_under_parallel_submissions(
        db: AsyncDatabase[dict[str, Any]], service: OtpService, sms: FakeSms) -> None:
    await service.issue(issue_of("flow-2", "registration"))
    code = sms.last_code()
    submissions = [outcome(service.verify(verify_of("flow-2", "registration", code)))
                   for _ in range(20)]
    results = Counter(await asyncio.gather(*submissions))
    assert results == {"ok": 1, "otp_expired": 19}
    assert Counter(await outbox_types(db)) == {"OtpSent": 1, "OtpVerified": 1}


async def test_parallel_issues_for_one_flow_send_one_code(
        db: AsyncDatabase[dict[str, Any]], service: OtpService, sms: FakeSms) -> None:
    issues = [outcome(service.issue(issue_of("flow-3", "registration")))
              for _ in range(10)]
    results = Counter(await asyncio.gather(*issues))
    assert results == {"ok": 1, "otp_resend_too_soon": 9}
    assert len(sms.sent) == 1
    assert await db[CHALLENGES].count_documents({}) == 1
    counter = await db[SEND_COUNTERS].find_one({"_id": PHONE})
    assert counter is not None and len(counter["sends"]) == 1


async def test_parallel_issues_to_one_phone_respect_the_hourly_limit(
        db: AsyncDatabase[dict[str, Any]], service: OtpService, sms: FakeSms) -> None:
    issues = [outcome(service.issue(issue_of(f"flow-{i}", "login"))) for i in range(12)]
    results = Counter(await asyncio.gather(*issues))
    assert results == {"ok": 5, "otp_send_limit": 7}
    assert len(sms.sent) == 5
    assert await db[CHALLENGES].count_documents({}) == 5
    assert Counter(await outbox_types(db)) == {"OtpSent": 5}


async def test_the_code_is_stored_only_as_a_keyed_hash(
        db: AsyncDatabase[dict[str, Any]], service: OtpService, sms: FakeSms) -> None:
    await service.issue(issue_of("flow-4", "password_reset"))
    code = sms.last_code()
    stored = await db[CHALLENGES].find_one({"flow_id": "flow-4"})
    assert stored is not None and len(stored["code_hash"]) == 64
    everything = [await db[name].find({}).to_list() for name in (CHALLENGES, OUTBOX, SEND_COUNTERS)]
    assert code not in repr(everything)
