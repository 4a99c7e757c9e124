"""Mongo side of the account activity log: ``account_activity`` (the entries, append-only),
``account_activity_heads`` (each account's newest (seq, hash), so cutting the newest entries
is seen) and ``account_activity_bursts`` (failed logins per account and 15-minute window).

No transaction: an entry's place is claimed by the unique (account_id, seq) index, and its
event by the unique (account_id, event_id) index; the use case retries a lost race."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.profile.domain.activity import BURST_WINDOW, Entry

Document = dict[str, Any]

ACTIVITY = "account_activity"
ACTIVITY_HEADS = "account_activity_heads"
ACTIVITY_BURSTS = "account_activity_bursts"
_UPSERT_ATTEMPTS = 3

ACTIVITY_INDEXES: dict[str, list[IndexModel]] = {
    ACTIVITY: [
        # The chain's order, the owner's pages (newest first) and the place an append claims.
        IndexModel([("account_id", ASCENDING), ("seq", ASCENDING)], unique=True,
                   name="account_seq_unique"),
        # One entry per event and account: a redelivered event adds nothing.
        IndexModel([("account_id", ASCENDING), ("event_id", ASCENDING)], unique=True,
                   name="account_event_unique"),
    ],
    ACTIVITY_BURSTS: [
        IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0),
    ],
}


def _entry_doc(entry: Entry) -> Document:
    return entry.hashed_fields() | {"hash": entry.hash}


def _entry_from(doc: Document) -> Entry:
    return Entry(account_id=doc["account_id"], seq=doc["seq"], prev_hash=doc["prev_hash"],
                 event_id=doc["event_id"], kind=doc["kind"], at=doc["at"],
                 details=doc.get("details") or {}, hash=doc["hash"])


class MongoActivityLog:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._entries = db[ACTIVITY]
        self._heads = db[ACTIVITY_HEADS]
        self._bursts = db[ACTIVITY_BURSTS]

    async def last(self, account_id: str) -> Entry | None:
        doc = await self._entries.find_one({"account_id": account_id},
                                           sort=[("seq", DESCENDING)])
        return _entry_from(doc) if doc else None

    async def has_event(self, account_id: str, event_id: str) -> bool:
        return await self._entries.find_one({"account_id": account_id, "event_id": event_id},
                                            projection={"_id": 1}) is not None

    async def insert(self, entry: Entry) -> bool:
        """False when the place (seq) or the event is taken already."""
        try:
            await self._entries.insert_one(_entry_doc(entry))
        except DuplicateKeyError:
            return False
        return True

    async def advance_head(self, entry: Entry) -> None:
        # A duplicate key: the head is at this entry or past it already (a later append won).
        with contextlib.suppress(DuplicateKeyError):
            await self._heads.update_one(
                {"_id": entry.account_id, "seq": {"$lt": entry.seq}},
                {"$set": {"seq": entry.seq, "hash": entry.hash}}, upsert=True)

    async def head(self, account_id: str) -> tuple[int, str] | None:
        doc = await self._heads.find_one({"_id": account_id})
        return (int(doc["seq"]), str(doc["hash"])) if doc else None

    async def page(self, account_id: str, limit: int, before: int | None) -> list[Entry]:
        query: Document = {"account_id": account_id}
        if before is not None:
            query["seq"] = {"$lt": before}
        cursor = self._entries.find(query, sort=[("seq", DESCENDING)], limit=limit)
        return [_entry_from(doc) async for doc in cursor]

    async def after(self, account_id: str, after: int, limit: int | None = None) -> list[Entry]:
        """Entries past seq ``after``, oldest first (all of them without a limit)."""
        cursor = self._entries.find({"account_id": account_id, "seq": {"$gt": after}},
                                    sort=[("seq", ASCENDING)], limit=limit or 0)
        return [_entry_from(doc) async for doc in cursor]

    async def next_account(self, after: str | None) -> str | None:
        """The account with a log that comes after ``after`` in id order (index-backed)."""
        query: Document = {"account_id": {"$gt": after}} if after else {}
        doc = await self._entries.find_one(query, sort=[("account_id", ASCENDING),
                                                        ("seq", ASCENDING)],
                                           projection={"account_id": 1})
        return str(doc["account_id"]) if doc else None

    async def count_failure(self, account_id: str, window: datetime, event_id: str) -> int:
        """The place of ``event_id`` among the account's failed logins of ``window``: the
        same on every delivery of the event ($addToSet keeps the first place)."""
        key = f"{account_id}:{window.isoformat()}"
        for _ in range(_UPSERT_ATTEMPTS):
            try:
                doc = await self._bursts.find_one_and_update(
                    {"_id": key},
                    {"$addToSet": {"events": event_id},
                     "$setOnInsert": {"expires_at": window + 2 * BURST_WINDOW}},
                    upsert=True, return_document=ReturnDocument.AFTER)
            except DuplicateKeyError:
                continue  # a concurrent first failure created the window: add to it
            if doc is not None:
                return list(doc["events"]).index(event_id) + 1
        raise RuntimeError("failed-login window contended")
