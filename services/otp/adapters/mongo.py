"""MongoDB adapters: challenges, per-phone send counters, and the unit of work binding them.

Every rule with a race in it is ONE conditional ``find_one_and_update``: the condition and the
change happen atomically in the server, so parallel requests can neither both pass a check
nor lose a count.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pymongo import ASCENDING, AsyncMongoClient, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.otp.domain.model import (
    CHALLENGE_RETENTION,
    MAX_FAILURES,
    RESEND_INTERVAL,
    SEND_WINDOW,
    SENDS_PER_WINDOW,
    Challenge,
)
from services.otp.domain.ports import OtpUnitOfWork
from shared.storage import PROCESSED, UnitOfWork

T = TypeVar("T")
Document = dict[str, Any]

CHALLENGES = "challenges"
SEND_COUNTERS = "send_counters"
# Processed event ids only need to outlive the event stream's retention (30 days): after
# that no redelivery can arrive.
PROCESSED_RETENTION = timedelta(days=31)

INDEXES: dict[str, list[IndexModel]] = {
    CHALLENGES: [
        # One live challenge per flow, and the lookup path of issue and verify.
        IndexModel([("purpose", ASCENDING), ("flow_id", ASCENDING)], unique=True,
                   name="purpose_flow_unique"),
        IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0, name="purge_at_ttl"),
    ],
    # Looked up by _id (the phone); idle counters disappear an hour after the last send.
    SEND_COUNTERS: [
        IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0, name="purge_at_ttl"),
    ],
    PROCESSED: [
        IndexModel([("at", ASCENDING)], expireAfterSeconds=int(PROCESSED_RETENTION.total_seconds()),
                   name="at_ttl"),
    ],
}


class MongoChallenges:
    """Bound to a transaction's session, or to none for single atomic operations."""

    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self._collection = db[CHALLENGES]
        self._session = session

    async def find(self, purpose: str, flow_id: str) -> Challenge | None:
        doc = await self._collection.find_one({"purpose": purpose, "flow_id": flow_id},
                                              session=self._session)
        return _challenge(doc)

    async def get(self, challenge_id: str) -> Challenge | None:
        return _challenge(await self._collection.find_one({"_id": challenge_id},
                                                          session=self._session))

    async def create(self, challenge: Challenge) -> None:
        await self._collection.insert_one({
            "_id": challenge.id,
            "purpose": challenge.purpose,
            "flow_id": challenge.flow_id,
            "phone": challenge.phone,
            "code_hash": challenge.code_hash,
            "sent_at": challenge.sent_at,
            "expires_at": challenge.expires_at,
            "failures": challenge.failures,
            "used_at": challenge.used_at,
            "purge_at": challenge.sent_at + CHALLENGE_RETENTION,
        }, session=self._session)

    async def replace_code(self, challenge_id: str, *, phone: str, code_hash: str,
                           sent_at: datetime, expires_at: datetime) -> Challenge | None:
        # `failures` is deliberately left alone: the counter survives resends.
        return await self._update(
            {"_id": challenge_id, "sent_at": {"$lte": sent_at - RESEND_INTERVAL},
             "failures": {"$lt": MAX_FAILURES}},
            {"$set": {"phone": phone, "code_hash": code_hash, "sent_at": sent_at,
                      "expires_at": expires_at, "used_at": None,
                      "purge_at": sent_at + CHALLENGE_RETENTION}})

    async def consume(self, challenge_id: str, code_hash: str, now: datetime) -> Challenge | None:
        return await self._update(
            {"_id": challenge_id, "code_hash": code_hash, **_live(now)},
            {"$set": {"used_at": now}})

    async def count_failure(self, challenge_id: str, code_hash: str,
                            now: datetime) -> Challenge | None:
        # Counts only while fewer than MAX_FAILURES were counted: of N parallel wrong
        # guesses exactly MAX_FAILURES match this filter, the rest are refused.
        return await self._update(
            {"_id": challenge_id, "code_hash": {"$nin": [code_hash, None]}, **_live(now)},
            {"$inc": {"failures": 1}})

    async def invalidate(self, challenge_id: str, code_hash: str) -> None:
        await self._collection.update_one({"_id": challenge_id, "code_hash": code_hash},
                                          {"$set": {"code_hash": None}}, session=self._session)

    async def _update(self, query: Document, update: Document) -> Challenge | None:
        doc = await self._collection.find_one_and_update(
            query, update, return_document=ReturnDocument.AFTER, session=self._session)
        return _challenge(doc)


def _live(now: datetime) -> Document:
    """A code that can still be entered: unused, unexpired, not locked."""
    return {"used_at": None, "expires_at": {"$gt": now}, "failures": {"$lt": MAX_FAILURES}}


def _challenge(doc: Document | None) -> Challenge | None:
    if doc is None:
        return None
    return Challenge(id=doc["_id"], purpose=doc["purpose"], flow_id=doc["flow_id"],
                     phone=doc["phone"], code_hash=doc.get("code_hash"), sent_at=doc["sent_at"],
                     expires_at=doc["expires_at"], failures=doc.get("failures", 0),
                     used_at=doc.get("used_at"))


class MongoSendCounters:
    """Sends per phone in a ROLLING hour, one small document per phone.

    The document keeps the times of the last SENDS_PER_WINDOW sends (sorted, capped with
    ``$push``/``$sort``/``$slice``); a send is allowed when fewer than that many are kept or
    the oldest kept one left the window. Chosen over a counter per fixed clock hour, which is
    simpler but lets 2 × the limit through in a few minutes around the hour boundary. The
    capped list bounds the document, and the TTL index drops phones idle for an hour.
    """

    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self._collection = db[SEND_COUNTERS]
        self._session = session

    async def claim(self, phone: str, now: datetime) -> datetime | None:
        # The document must exist for the conditional update below to mean "limit reached"
        # when it matches nothing (an upsert there would collide on _id instead).
        await self._collection.update_one({"_id": phone}, {"$setOnInsert": {"sends": []}},
                                          upsert=True, session=self._session)
        claimed = await self._collection.find_one_and_update(
            {"_id": phone, "$or": [{f"sends.{SENDS_PER_WINDOW - 1}": {"$exists": False}},
                                   {"sends.0": {"$lte": now - SEND_WINDOW}}]},
            {"$push": {"sends": {"$each": [now], "$sort": 1, "$slice": -SENDS_PER_WINDOW}},
             "$set": {"purge_at": now + SEND_WINDOW}},
            session=self._session)
        if claimed is not None:
            return None
        current = await self._collection.find_one({"_id": phone}, session=self._session)
        oldest: datetime = current["sends"][0] if current and current["sends"] else now
        return oldest + SEND_WINDOW


class MongoOtpUnitOfWork(UnitOfWork):
    """The shared unit of work (state + outbox + processed ids in one transaction) with the
    otp repositories bound to its session."""

    challenges: MongoChallenges
    send_counters: MongoSendCounters

    async def __aenter__(self) -> MongoOtpUnitOfWork:
        await super().__aenter__()
        self.challenges = MongoChallenges(self.db, self.session)
        self.send_counters = MongoSendCounters(self.db, self.session)
        return self


class MongoTransactions:
    """Runs a piece of work in a fresh unit of work and commits it, retrying the whole
    transaction when the server says it may (write conflicts between parallel requests on
    the same challenge or phone, or a lost race to create the same document)."""

    def __init__(self, client: AsyncMongoClient[Document], db: AsyncDatabase[Document],
                 on_commit: Callable[[], None] | None = None, attempts: int = 15) -> None:
        self._client = client
        self._db = db
        self._on_commit = on_commit
        self._attempts = attempts

    async def run(self, work: Callable[[OtpUnitOfWork], Awaitable[T]]) -> T:
        for attempt in range(1, self._attempts + 1):
            try:
                async with MongoOtpUnitOfWork(self._client, self._db, self._on_commit) as uow:
                    result = await work(uow)
                    await uow.commit()
                return result
            except PyMongoError as exc:
                if attempt >= self._attempts or not _retryable(exc):
                    raise
            # Jittered exponential backoff so conflicting transactions spread out.
            await asyncio.sleep(random.uniform(0, min(0.25, 0.004 * 2**attempt)))
        raise AssertionError("unreachable")


def _retryable(exc: PyMongoError) -> bool:
    return isinstance(exc, DuplicateKeyError) or exc.has_error_label("TransientTransactionError")
