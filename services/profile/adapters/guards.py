"""The login guards' collections: windowed attempt counters, locks and captchas.

Every operation is one atomic command on one document, so the counters hold under any
number of gateway replicas and profile instances, and under parallel requests.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.profile.domain.guards import Count

Document = dict[str, Any]
Db = AsyncDatabase[Document]

COUNTERS = "guard_counters"
LOCKS = "guard_locks"
CAPTCHAS = "captchas"

GUARD_INDEXES: dict[str, list[IndexModel]] = {
    # A window's counter disappears once it is over (TTL); _id is the key.
    COUNTERS: [IndexModel([("window_ends", ASCENDING)], name="window_ends_ttl",
                          expireAfterSeconds=0)],
    LOCKS: [IndexModel([("until", ASCENDING)], name="until_ttl", expireAfterSeconds=0)],
    CAPTCHAS: [IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl",
                          expireAfterSeconds=0)],
}
# Opening a window races with other openers at most a few times.
_OPEN_ATTEMPTS = 5


class MongoAttemptCounters:
    def __init__(self, db: Db) -> None:
        self._collection = db[COUNTERS]

    async def hit(self, key: str, now: datetime, window: timedelta) -> Count:
        for _ in range(_OPEN_ATTEMPTS):
            # 1. The live window, if any: one more.
            doc = await self._collection.find_one_and_update(
                {"_id": key, "window_ends": {"$gt": now}}, {"$inc": {"n": 1}},
                return_document=ReturnDocument.AFTER)
            if doc is None:
                # 2. A window that is over (the TTL monitor has not removed it yet): restart.
                doc = await self._collection.find_one_and_update(
                    {"_id": key, "window_ends": {"$lte": now}},
                    {"$set": {"n": 1, "window_ends": now + window}},
                    return_document=ReturnDocument.AFTER)
            if doc is None:
                # 3. No window at all: open one. A parallel opener wins the unique _id and
                # this attempt goes round again, to count in that window.
                try:
                    await self._collection.insert_one(
                        {"_id": key, "n": 1, "window_ends": now + window})
                except DuplicateKeyError:
                    await asyncio.sleep(0)
                    continue
                return Count(1, now + window)
            return Count(int(doc["n"]), _aware(doc["window_ends"], now))
        raise RuntimeError("attempt counter kept changing under us")

    async def give_back(self, key: str, now: datetime) -> None:
        await self._collection.update_one(
            {"_id": key, "window_ends": {"$gt": now}, "n": {"$gt": 0}}, {"$inc": {"n": -1}})


class MongoLocks:
    def __init__(self, db: Db) -> None:
        self._collection = db[LOCKS]

    async def lock(self, key: str, until: datetime) -> None:
        try:
            await self._collection.update_one({"_id": key}, {"$max": {"until": until}},
                                              upsert=True)
        except DuplicateKeyError:
            await self._collection.update_one({"_id": key}, {"$max": {"until": until}})

    async def locked_until(self, key: str, now: datetime) -> datetime | None:
        doc = await self._collection.find_one({"_id": key, "until": {"$gt": now}})
        return _aware(doc["until"], now) if doc else None


class MongoCaptchas:
    def __init__(self, db: Db) -> None:
        self._collection = db[CAPTCHAS]

    async def add(self, captcha_id: str, answer_hash: str, expires_at: datetime) -> None:
        await self._collection.insert_one({"_id": captcha_id, "answer_hash": answer_hash,
                                           "expires_at": expires_at})

    async def take(self, captcha_id: str, now: datetime) -> str | None:
        doc = await self._collection.find_one_and_delete(
            {"_id": captcha_id, "expires_at": {"$gt": now}})
        return str(doc["answer_hash"]) if doc else None


class MongoGuardStore:
    def __init__(self, db: Db) -> None:
        self.counters = MongoAttemptCounters(db)
        self.locks = MongoLocks(db)
        self.captchas = MongoCaptchas(db)


def _aware(moment: datetime, like: datetime) -> datetime:
    """Mongo may hand back naive UTC datetimes; compare them with the clock's aware ones."""
    return moment.replace(tzinfo=like.tzinfo) if moment.tzinfo is None else moment
