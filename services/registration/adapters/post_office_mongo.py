"""Mongo repositories of the post-office counter, bound to the unit of work.

- ``counter_registrations``: one document per registration at a counter, ``_id`` =
  registration id: the account, the ID number, the issued username (unique) and the agent and
  office that registered it. Kept for good: it is the record of who registered whom, where.
- ``counter_flows``: a registration waiting for the code read back from the citizen's phone;
  purged a day after it expires.
- ``counter_agent_days``: one counter per agent and Vietnamese day (the daily limit), taken
  with ONE conditional upsert; purged after the day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Self

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.registration.adapters.mongo import MongoUnitOfWork, _retryable_conflicts
from services.registration.domain.errors import UsernameTaken
from services.registration.domain.identity import Identity
from services.registration.domain.methods.post_office import (
    Agent,
    CounterFlow,
    CounterRegistration,
    PostOfficeApplication,
)

COUNTER_REGISTRATIONS = "counter_registrations"

COUNTER_FLOWS = "counter_flows"
COUNTER_AGENT_DAYS = "counter_agent_days"
FLOW_RETENTION = timedelta(days=1)

COUNTER_INDEXES: dict[str, list[IndexModel]] = {
    # Looked up by _id only; the TTL index purges them.
    COUNTER_FLOWS: [IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0,
                               name="purge_at_ttl")],
    COUNTER_AGENT_DAYS: [IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0,
                                    name="purge_at_ttl")],
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


def flow_document(flow: CounterFlow) -> Document:
    application, identity = flow.application, flow.application.identity
    return {"_id": flow.id, "status": flow.status,
            "agent_account_id": application.agent.account_id,
            "office": dict(application.agent.office),
            "identity": {"id_number": identity.id_number, "full_name": identity.full_name,
                         "birth_date": identity.birth_date.isoformat(), "sex": identity.sex},
            "phone": application.phone, "email": application.email,
            "created_at": flow.created_at, "expires_at": flow.expires_at,
            "purge_at": flow.expires_at + FLOW_RETENTION}


def flow_of(doc: Document) -> CounterFlow:
    identity = doc["identity"]
    return CounterFlow(
        id=doc["_id"], status=doc["status"], created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        application=PostOfficeApplication(
            identity=Identity(id_number=identity["id_number"], full_name=identity["full_name"],
                              birth_date=date.fromisoformat(identity["birth_date"]),
                              sex=identity["sex"]),
            phone=doc["phone"], email=doc.get("email"),
            agent=Agent(doc["agent_account_id"], dict(doc["office"]))))


class MongoCounterFlows:
    def __init__(self, collection: AsyncCollection[Document], session: AsyncClientSession) -> None:
        self._collection = collection
        self._session = session

    async def add(self, flow: CounterFlow) -> None:
        with _retryable_conflicts():
            await self._collection.insert_one(flow_document(flow), session=self._session)

    async def get(self, flow_id: str) -> CounterFlow | None:
        doc = await self._collection.find_one({"_id": flow_id}, session=self._session)
        return flow_of(doc) if doc is not None else None

    async def complete(self, flow_id: str, now: datetime) -> bool:
        with _retryable_conflicts():
            doc = await self._collection.find_one_and_update(
                {"_id": flow_id, "status": "otp_sent", "expires_at": {"$gt": now}},
                {"$set": {"status": "completed", "completed_at": now}}, session=self._session)
        return doc is not None


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


class MongoPostOfficeUnitOfWork(MongoUnitOfWork):
    """The registration unit of work with the counter's repositories as well."""

    counter_registrations: MongoCounterRegistrations
    counter_flows: MongoCounterFlows

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.counter_registrations = MongoCounterRegistrations(
            self.db[COUNTER_REGISTRATIONS], self.session)
        self.counter_flows = MongoCounterFlows(self.db[COUNTER_FLOWS], self.session)
        return self
