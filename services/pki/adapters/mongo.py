"""MongoDB adapters of pki: signature challenges, SIM signature sessions, the unit of work.

Consuming a challenge and finishing a SIM session are ONE conditional ``find_one_and_update``
each, so two parallel verifications of the same challenge cannot both succeed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bson.binary import Binary
from pymongo import ASCENDING, AsyncMongoClient, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.pki.domain.challenge import RETENTION, Challenge
from services.pki.domain.ports import PkiUnitOfWork, SimSession
from services.pki.domain.sim_prompts import PromptHistory, PromptLimits, free_at
from shared.storage import PROCESSED, UnitOfWork

T = TypeVar("T")
Document = dict[str, Any]

CHALLENGES = "challenges"
SIM_SESSIONS = "sim_sessions"
SIM_PROMPTS = "sim_prompts"
PROCESSED_RETENTION = timedelta(days=31)

INDEXES: dict[str, list[IndexModel]] = {
    # Looked up by _id = "<purpose>:<flow_id>" (one live challenge / SIM session per flow).
    CHALLENGES: [IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0, name="purge_at_ttl")],
    SIM_SESSIONS: [IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0,
                              name="purge_at_ttl")],
    # Looked up by _id = the phone; a phone not asked for an hour is forgotten.
    SIM_PROMPTS: [IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0,
                             name="purge_at_ttl")],
    PROCESSED: [IndexModel([("at", ASCENDING)],
                           expireAfterSeconds=int(PROCESSED_RETENTION.total_seconds()),
                           name="at_ttl")],
}


def _key(purpose: str, flow_id: str) -> str:
    return f"{purpose}:{flow_id}"


class MongoChallenges:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self._collection = db[CHALLENGES]
        self._session = session

    async def put(self, challenge: Challenge) -> None:
        await self._collection.replace_one(
            {"_id": _key(challenge.purpose, challenge.flow_id)},
            {"purpose": challenge.purpose, "flow_id": challenge.flow_id,
             "nonce": Binary(challenge.nonce), "created_at": challenge.created_at,
             "expires_at": challenge.expires_at, "used_at": None,
             "purge_at": challenge.expires_at + RETENTION},
            upsert=True, session=self._session)

    async def find(self, purpose: str, flow_id: str) -> Challenge | None:
        return _challenge(await self._collection.find_one({"_id": _key(purpose, flow_id)},
                                                          session=self._session))

    async def consume(self, purpose: str, flow_id: str, nonce: bytes,
                      now: datetime) -> Challenge | None:
        doc = await self._collection.find_one_and_update(
            {"_id": _key(purpose, flow_id), "nonce": Binary(nonce), "used_at": None,
             "expires_at": {"$gt": now}},
            {"$set": {"used_at": now}}, return_document=ReturnDocument.AFTER,
            session=self._session)
        return _challenge(doc)


def _challenge(doc: Document | None) -> Challenge | None:
    if doc is None:
        return None
    return Challenge(purpose=doc["purpose"], flow_id=doc["flow_id"], nonce=bytes(doc["nonce"]),
                     created_at=doc["created_at"], expires_at=doc["expires_at"],
                     used_at=doc.get("used_at"))


class MongoSimSessions:
    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self._collection = db[SIM_SESSIONS]
        self._session = session

    async def put(self, sim: SimSession) -> None:
        await self._collection.replace_one(
            {"_id": _key(sim.purpose, sim.flow_id)},
            {"purpose": sim.purpose, "flow_id": sim.flow_id, "phone": sim.phone,
             "nonce": Binary(sim.nonce), "provider_session": sim.provider_session,
             "created_at": sim.created_at, "expires_at": sim.expires_at, "state": sim.state,
             "code": sim.code, "result": sim.result, "purge_at": sim.expires_at + RETENTION},
            upsert=True, session=self._session)

    async def find(self, purpose: str, flow_id: str) -> SimSession | None:
        return _sim(await self._collection.find_one({"_id": _key(purpose, flow_id)},
                                                    session=self._session))

    async def finish(self, purpose: str, flow_id: str, provider_session: str, state: str,
                     code: str | None, result: dict[str, Any] | None) -> SimSession | None:
        doc = await self._collection.find_one_and_update(
            {"_id": _key(purpose, flow_id), "provider_session": provider_session,
             "state": "running"},
            {"$set": {"state": state, "code": code, "result": result}},
            return_document=ReturnDocument.AFTER, session=self._session)
        return _sim(doc)


def _sim(doc: Document | None) -> SimSession | None:
    if doc is None:
        return None
    return SimSession(purpose=doc["purpose"], flow_id=doc["flow_id"], phone=doc["phone"],
                      nonce=bytes(doc["nonce"]), provider_session=doc["provider_session"],
                      created_at=doc["created_at"], expires_at=doc["expires_at"],
                      state=doc["state"], code=doc.get("code"), result=doc.get("result"))


class MongoSimPrompts:
    """One document per phone: ``recent`` and ``hourly`` keep the last send times (sorted,
    capped with ``$push``/``$sort``/``$slice``), ``pending`` names the flow whose prompt waits
    on the phone until ``pending_until``. A prompt is claimed by ONE conditional update, so
    parallel askers cannot both pass (as the otp service's send counters)."""

    def __init__(self, db: AsyncDatabase[Document], session: AsyncClientSession | None = None):
        self._collection = db[SIM_PROMPTS]
        self._session = session

    async def claim(self, phone: str, flow_key: str, now: datetime, pending_until: datetime,
                    limits: PromptLimits) -> datetime | None:
        # The document must exist for "matched nothing" to mean "limit reached".
        await self._collection.update_one(
            {"_id": phone}, {"$setOnInsert": {"recent": [], "hourly": [], "pending": None,
                                              "pending_until": None}},
            upsert=True, session=self._session)
        claimed = await self._collection.find_one_and_update(
            {"_id": phone, "$and": [
                {"$or": [{"pending": None}, {"pending_until": {"$lte": now}}]},
                {"$or": [{f"recent.{limits.per_window - 1}": {"$exists": False}},
                         {"recent.0": {"$lte": now - limits.window}}]},
                {"$or": [{f"hourly.{limits.per_hour - 1}": {"$exists": False}},
                         {"hourly.0": {"$lte": now - limits.hour}}]}]},
            {"$push": {"recent": {"$each": [now], "$sort": 1, "$slice": -limits.per_window},
                       "hourly": {"$each": [now], "$sort": 1, "$slice": -limits.per_hour}},
             "$set": {"pending": flow_key, "pending_until": pending_until,
                      "purge_at": max(pending_until, now + limits.hour)}},
            session=self._session)
        if claimed is not None:
            return None
        doc = await self._collection.find_one({"_id": phone}, session=self._session) or {}
        history = PromptHistory(
            recent=[_utc(t) for t in doc.get("recent") or []],
            hourly=[_utc(t) for t in doc.get("hourly") or []],
            pending_until=_utc(doc["pending_until"]) if doc.get("pending") else None)
        # A lost race with a prompt that has just been released: ask again in a moment.
        return free_at(history, now, limits) or now + timedelta(seconds=1)

    async def release(self, phone: str, flow_key: str) -> None:
        await self._collection.update_one(
            {"_id": phone, "pending": flow_key},
            {"$set": {"pending": None, "pending_until": None}}, session=self._session)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class MongoPkiUnitOfWork(UnitOfWork):
    challenges: MongoChallenges
    sim_sessions: MongoSimSessions
    sim_prompts: MongoSimPrompts

    async def __aenter__(self) -> MongoPkiUnitOfWork:
        await super().__aenter__()
        self.challenges = MongoChallenges(self.db, self.session)
        self.sim_sessions = MongoSimSessions(self.db, self.session)
        self.sim_prompts = MongoSimPrompts(self.db, self.session)
        return self


class MongoTransactions:
    """Runs work in a fresh unit of work and commits it, retrying transient conflicts."""

    def __init__(self, client: AsyncMongoClient[Document], db: AsyncDatabase[Document],
                 on_commit: Callable[[], None] | None = None, attempts: int = 10) -> None:
        self._client = client
        self._db = db
        self._on_commit = on_commit
        self._attempts = attempts

    async def run(self, work: Callable[[PkiUnitOfWork], Awaitable[T]]) -> T:
        for attempt in range(1, self._attempts + 1):
            try:
                async with MongoPkiUnitOfWork(self._client, self._db, self._on_commit) as uow:
                    result = await work(uow)
                    await uow.commit()
                return result
            except PyMongoError as exc:
                retryable = isinstance(exc, DuplicateKeyError) or exc.has_error_label(
                    "TransientTransactionError")
                if attempt >= self._attempts or not retryable:
                    raise
            await asyncio.sleep(random.uniform(0, min(0.25, 0.004 * 2**attempt)))
        raise AssertionError("unreachable")
