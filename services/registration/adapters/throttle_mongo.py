"""Mongo counters of registration starts (domain/throttle.py), outside any transaction: a start
that is refused later must still have been counted.

Collection ``start_attempts``: one document per counted key (a keyed digest of the ID number
or phone, never the value), ``{_id, count, window_ends}``; the TTL index removes it once its
window is over.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.registration.domain.throttle import Count

START_ATTEMPTS = "start_attempts"
# Two starts racing to open a window: the loser counts in the winner's.
_OPEN_RACE_RETRIES = 3

THROTTLE_INDEXES: dict[str, list[IndexModel]] = {
    # Lookups are by _id; this one only purges lapsed windows.
    START_ATTEMPTS: [IndexModel([("window_ends", ASCENDING)], name="purge_lapsed_windows",
                                expireAfterSeconds=0)],
}

Document = dict[str, Any]


class MongoAttemptCounter:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def hit(self, key: str, now: datetime, window: timedelta) -> Count:
        for _ in range(_OPEN_RACE_RETRIES):
            # The open window, counted atomically: parallel starts cannot beat the limit.
            doc = await self._collection.find_one_and_update(
                {"_id": key, "window_ends": {"$gt": now}}, {"$inc": {"count": 1}},
                return_document=ReturnDocument.AFTER)
            if doc is None:
                doc = await self._open_window(key, now, window)
            if doc is not None:
                return Count(starts=int(doc["count"]), window_ends=doc["window_ends"])
        raise RuntimeError("start counter: the window kept changing under us")

    async def _open_window(self, key: str, now: datetime, window: timedelta) -> Document | None:
        """A new window from ``now``, replacing a lapsed one; None when a parallel start
        opened it first (the unique _id refuses ours)."""
        try:
            doc: Document | None = await self._collection.find_one_and_update(
                {"_id": key, "window_ends": {"$lte": now}},
                {"$set": {"count": 1, "window_ends": now + window}},
                upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            return None
        return doc
