"""Account activations in registration's Mongo (``account_activations``, ``_id`` = the
registration id), with a core NATS wake-up so a step waiting in any instance learns of one at
once (subscribe first, then read: no activation falls between the two)."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeout
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.events.subjects import account_ready_subject

ACTIVATIONS = "account_activations"
# Longer than any flow lives (30 minutes, purged a day after): then no one asks any more.
_KEEP_SECONDS = 2 * 24 * 3600
ACTIVATION_INDEXES = {
    ACTIVATIONS: [IndexModel([("at", ASCENDING)], expireAfterSeconds=_KEEP_SECONDS)],
}


class MongoNatsActivations:
    def __init__(self, collection: AsyncCollection[dict[str, Any]], nc: NATS) -> None:
        self._collection = collection
        self._nc = nc

    async def record(self, registration_id: str, account_id: str) -> None:
        # A concurrent delivery may have recorded it first (the upsert's duplicate key).
        with contextlib.suppress(DuplicateKeyError):
            await self._collection.update_one(
                {"_id": registration_id},
                {"$setOnInsert": {"account_id": account_id, "at": datetime.now(UTC)}},
                upsert=True)
        # Only a wake-up: the waiter reads the record itself.
        await self._nc.publish(account_ready_subject(registration_id), b"")

    async def is_active(self, registration_id: str) -> bool:
        found = await self._collection.find_one({"_id": registration_id}, {"_id": 1})
        return found is not None

    async def wait(self, registration_id: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        subscription = await self._nc.subscribe(account_ready_subject(registration_id))
        try:
            while True:
                if await self.is_active(registration_id):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                try:
                    await subscription.next_msg(timeout=left)
                except (TimeoutError, NatsTimeout):
                    return await self.is_active(registration_id)
        finally:
            await subscription.unsubscribe()
