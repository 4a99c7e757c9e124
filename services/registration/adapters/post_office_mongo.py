"""Mongo repository of the counter registrations (post office), bound to the unit of work.

Collection ``counter_registrations``: one document per registration at a counter, ``_id`` =
registration id: the account, the ID number, the issued username (unique) and the agent and
office that registered it. Kept for good: it is the record of who registered whom, where.
"""

from __future__ import annotations

from typing import Any, Self

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.registration.adapters.mongo import MongoUnitOfWork, _retryable_conflicts
from services.registration.domain.errors import UsernameTaken
from services.registration.domain.methods.post_office import CounterRegistration

COUNTER_REGISTRATIONS = "counter_registrations"

COUNTER_INDEXES: dict[str, list[IndexModel]] = {
    COUNTER_REGISTRATIONS: [
        IndexModel([("username", ASCENDING)], unique=True, name="username_unique"),
        # "What did this agent register" (audit, a clerk's day at the counter).
        IndexModel([("agent_account_id", ASCENDING), ("created_at", DESCENDING)],
                   name="agent_registrations"),
    ],
}

Document = dict[str, Any]


def to_document(record: CounterRegistration) -> Document:
    return {"_id": record.id, "account_id": record.account_id, "id_number": record.id_number,
            "username": record.username, "agent_account_id": record.agent.account_id,
            "office": dict(record.agent.office), "created_at": record.created_at}


class MongoCounterRegistrations:
    def __init__(self, collection: AsyncCollection[Document], session: AsyncClientSession) -> None:
        self._collection = collection
        self._session = session

    async def add(self, record: CounterRegistration) -> None:
        try:
            with _retryable_conflicts():
                await self._collection.insert_one(to_document(record), session=self._session)
        except DuplicateKeyError as exc:
            raise UsernameTaken(record.username) from exc


class MongoPostOfficeUnitOfWork(MongoUnitOfWork):
    """The registration unit of work with the counter registrations' repository as well."""

    counter_registrations: MongoCounterRegistrations

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.counter_registrations = MongoCounterRegistrations(
            self.db[COUNTER_REGISTRATIONS], self.session)
        return self
