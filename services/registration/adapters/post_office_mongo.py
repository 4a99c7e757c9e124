"""The post-office counter's daily limit in Mongo (the counter's flows are in
``registrations``, its records in ``counter_registrations``: ``adapters/mongo.py``).

- ``counter_agent_days``: one counter per agent and Vietnamese day (the daily limit), taken
  with ONE conditional upsert; purged after the day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

COUNTER_AGENT_DAYS = "counter_agent_days"

COUNTER_INDEXES: dict[str, list[IndexModel]] = {
    COUNTER_AGENT_DAYS: [IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0,
                                    name="purge_at_ttl")],
}

Document = dict[str, Any]


class MongoAgentDays:
    """``{_id: "<agent>:<day>", count}``: a slot is taken by ONE upsert that matches only
    below the limit; at the limit the upsert collides with the existing ``_id``."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._collection = db[COUNTER_AGENT_DAYS]

    async def claim(self, key: str, limit: int, purge_at: datetime) -> bool:
        try:
            await self._collection.find_one_and_update(
                {"_id": key, "count": {"$lt": limit}},
                {"$inc": {"count": 1}, "$setOnInsert": {"purge_at": purge_at}}, upsert=True)
        except DuplicateKeyError:
            return False
        return True
