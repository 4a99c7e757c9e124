"""Pushed authorization requests (RFC 9126) in MongoDB: under a hash of their ``request_uri``,
spent by one conditional update."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]
PUSHED_REQUESTS = "pushed_requests"
# Kept a while past expiry, then purged.
RETENTION = timedelta(hours=1)
INDEXES: dict[str, list[IndexModel]] = {
    PUSHED_REQUESTS: [IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0,
                                 name="purge_at_ttl")],
}


class MongoPushedRequests:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._c = db[PUSHED_REQUESTS]

    async def add(self, uri_hash: str, client_id: str, request: dict[str, Any],
                  created_at: datetime, expires_at: datetime) -> None:
        await self._c.insert_one({"_id": uri_hash, "client_id": client_id, "request": request,
                                  "created_at": created_at, "expires_at": expires_at,
                                  "used_at": None, "purge_at": expires_at + RETENTION})

    async def get(self, uri_hash: str) -> tuple[str, dict[str, Any], datetime, datetime] | None:
        doc = await self._c.find_one({"_id": uri_hash, "used_at": None})
        if doc is None:
            return None
        return doc["client_id"], doc["request"], doc["created_at"], doc["expires_at"]

    async def extend(self, uri_hash: str, until: datetime) -> None:
        await self._c.update_one({"_id": uri_hash, "used_at": None},
                                 {"$max": {"expires_at": until, "purge_at": until + RETENTION}})

    async def spend(self, uri_hash: str, now: datetime) -> bool:
        result = await self._c.update_one({"_id": uri_hash, "used_at": None},
                                          {"$set": {"used_at": now}})
        return result.modified_count == 1
