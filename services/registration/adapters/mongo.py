"""Mongo repositories of the registration service, bound to the unit of work's transaction.

Collections (database ``<prefix>_registration``):
- ``registrations``: one document per flow of every method (``method``), ``_id`` =
  registration id. Only hashes of the flow token; purged by a TTL index a day after the flow
  expired (until then an expired flow answers ``flow_expired`` rather than ``not_found``).
- ``counter_registrations``: the record of who registered whom at a counter
  (``post_office_mongo.py``).
- ``identities``: the duplicate-check projection, one row per identity that has an account;
  its ``id_number`` field holds the typed identity key (``CMND:…``, ``CCCD:…``, ``HC:…``,
  ``MST:…``: domain/identity_keys), unique; written by the completing transaction and by the
  AccountCreated consumer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.registration.domain.errors import AccountExists, TransactionConflict, UsernameTaken
from services.registration.domain.flow import (
    FLOW_EXPIRED_CODE,
    UNFINISHED,
    Agent,
    RegistrationFlow,
    Status,
)
from services.registration.domain.identity import Identity
from services.registration.domain.methods.post_office import CounterRegistration
from services.registration.domain.model import IdentityRecord
from services.registration.domain.signature import CertificateBinding, CertifiedIdentity
from shared.storage import PROCESSED
from shared.storage import UnitOfWork as SharedUnitOfWork

REGISTRATIONS = "registrations"
IDENTITIES = "identities"
COUNTER_REGISTRATIONS = "counter_registrations"
# Expired flows stay readable (flow_expired) for a day, then the TTL monitor removes them.
EXPIRED_FLOW_RETENTION_SECONDS = 24 * 3600
# Longer than the event stream keeps messages (30 days): no redelivery can outlive its mark.
PROCESSED_RETENTION_SECONDS = 35 * 24 * 3600

INDEXES: dict[str, list[IndexModel]] = {
    REGISTRATIONS: [
        IndexModel([("expires_at", ASCENDING)], name="purge_expired",
                   expireAfterSeconds=EXPIRED_FLOW_RETENTION_SECONDS),
        # The expiry sweeper's query: unfinished flows by expiry time.
        IndexModel([("status", ASCENDING), ("expires_at", ASCENDING)], name="expiry_sweep"),
    ],
    IDENTITIES: [IndexModel([("id_number", ASCENDING)], name="one_account_per_id", unique=True)],
    COUNTER_REGISTRATIONS: [
        IndexModel([("username", ASCENDING)], unique=True, name="username_unique"),
        # "What did this agent register" (audit, a clerk's day at the counter).
        IndexModel([("agent_account_id", ASCENDING), ("created_at", DESCENDING)],
                   name="agent_registrations"),
    ],
    PROCESSED: [IndexModel([("at", ASCENDING)], name="purge_processed",
                           expireAfterSeconds=PROCESSED_RETENTION_SECONDS)],
}

Document = dict[str, Any]


@contextmanager
def _retryable_conflicts() -> Iterator[None]:
    """A write conflict with a concurrent transaction becomes the domain's retry signal."""
    try:
        yield
    except PyMongoError as exc:
        if exc.has_error_label("TransientTransactionError"):
            raise TransactionConflict(str(exc)) from exc
        raise


def registration_to_document(flow: RegistrationFlow) -> Document:
    doc: Document = {
        "_id": flow.id,
        "status": str(flow.status),
        "method": flow.method,
        "subject_type": flow.subject_type,
        "created_at": flow.created_at,
        "expires_at": flow.expires_at,
        "updated_at": flow.created_at,
    }
    for name in ("flow_token_hash", "identity", "phone", "email", "certificate", "agent",
                 "account_id", "level", "code", "completed_at", "vneid_sub",
                 "trace_context"):
        value = getattr(flow, name)
        if value is not None:
            doc[name] = _encode(value)
    return doc


def _encode(value: Any) -> Any:
    """A domain value as a BSON-ready one."""
    if isinstance(value, Agent):
        return {"account_id": value.account_id, "office": dict(value.office)}
    if isinstance(value, Identity | CertifiedIdentity | CertificateBinding):
        return value.as_dict()
    if isinstance(value, Status):
        return str(value)
    return value


def _identity(data: Document) -> Identity | CertifiedIdentity:
    """A declared identity (birth date and sex) or one read from a certificate."""
    if "birth_date" in data:
        return Identity(id_number=data["id_number"], full_name=data["full_name"],
                        birth_date=date.fromisoformat(data["birth_date"]), sex=data["sex"])
    return CertifiedIdentity.from_dict(data)


def registration_from_document(doc: Document) -> RegistrationFlow:
    identity, certificate, agent = doc.get("identity"), doc.get("certificate"), doc.get("agent")
    return RegistrationFlow(
        id=doc["_id"],
        method=doc["method"],
        status=Status(doc["status"]),
        subject_type=doc["subject_type"],
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        flow_token_hash=doc.get("flow_token_hash"),
        identity=_identity(identity) if identity else None,
        phone=doc.get("phone"),
        email=doc.get("email"),
        certificate=CertificateBinding.from_dict(certificate) if certificate else None,
        agent=Agent(agent["account_id"], dict(agent["office"])) if agent else None,
        account_id=doc.get("account_id"),
        level=doc.get("level"),
        code=doc.get("code"),
        completed_at=doc.get("completed_at"),
        vneid_sub=doc.get("vneid_sub"),
        trace_context=doc.get("trace_context"),
    )


class MongoRegistrationRepository:
    def __init__(self, collection: AsyncCollection[Document], session: AsyncClientSession) -> None:
        self._collection = collection
        self._session = session

    async def add(self, flow: RegistrationFlow) -> None:
        with _retryable_conflicts():
            await self._collection.insert_one(registration_to_document(flow),
                                              session=self._session)

    async def get(self, registration_id: str) -> RegistrationFlow | None:
        with _retryable_conflicts():
            doc = await self._collection.find_one({"_id": registration_id}, session=self._session)
        return registration_from_document(doc) if doc else None

    async def transition(
        self,
        registration_id: str,
        *,
        from_status: Status,
        to_status: Status,
        now: datetime,
        changes: dict[str, Any] | None = None,
        only_if_live: bool = True,
    ) -> RegistrationFlow | None:
        # The filter is the precondition: of two concurrent moves, exactly one matches.
        query: Document = {"_id": registration_id, "status": str(from_status)}
        if only_if_live:
            query["expires_at"] = {"$gt": now}
        encoded = {name: _encode(value) for name, value in (changes or {}).items()}
        update = {"$set": {**encoded, "status": str(to_status), "updated_at": now}}
        with _retryable_conflicts():
            doc = await self._collection.find_one_and_update(
                query, update, return_document=ReturnDocument.AFTER, session=self._session)
        return registration_from_document(doc) if doc else None

    async def fail_one_expired(self, now: datetime,
                               methods: Collection[str]) -> RegistrationFlow | None:
        # One flow per call, claimed by the filter itself: sweepers in several instances
        # never fail (and announce) the same flow twice.
        query: Document = {"status": {"$in": [str(s) for s in UNFINISHED]},
                           "expires_at": {"$lte": now}, "method": {"$in": list(methods)}}
        update = {"$set": {"status": str(Status.FAILED), "code": FLOW_EXPIRED_CODE,
                           "updated_at": now}}
        with _retryable_conflicts():
            doc = await self._collection.find_one_and_update(
                query, update, sort=[("expires_at", ASCENDING)],
                return_document=ReturnDocument.AFTER, session=self._session)
        return registration_from_document(doc) if doc else None


class MongoIdentityRepository:
    def __init__(self, collection: AsyncCollection[Document], session: AsyncClientSession) -> None:
        self._collection = collection
        self._session = session

    async def exists(self, key: str) -> bool:
        with _retryable_conflicts():
            found = await self._collection.find_one({"id_number": key}, {"_id": 1},
                                                    session=self._session)
        return found is not None

    async def add(self, record: IdentityRecord) -> None:
        try:
            with _retryable_conflicts():
                await self._collection.insert_one(_identity_document(record), session=self._session)
        except DuplicateKeyError as exc:
            raise AccountExists() from exc

    async def ensure(self, record: IdentityRecord) -> None:
        doc = _identity_document(record)
        del doc["id_number"]
        with _retryable_conflicts():
            await self._collection.update_one({"id_number": record.key},
                                              {"$setOnInsert": doc}, upsert=True,
                                              session=self._session)


def _identity_document(record: IdentityRecord) -> Document:
    return {
        "_id": record.account_id,
        "id_number": record.key,
        "subject_type": record.subject_type,
        "registration_id": record.registration_id,
        "created_at": record.created_at,
    }


def counter_registration_document(record: CounterRegistration) -> Document:
    return {"_id": record.id, "account_id": record.account_id, "id_number": record.id_number,
            "username": record.username, "agent_account_id": record.agent.account_id,
            "office": dict(record.agent.office), "created_at": record.created_at}


class MongoCounterRegistrations:
    """Kept for good: the record of who registered whom, where (the username is unique)."""

    def __init__(self, collection: AsyncCollection[Document], session: AsyncClientSession) -> None:
        self._collection = collection
        self._session = session

    async def add(self, record: CounterRegistration) -> None:
        try:
            with _retryable_conflicts():
                await self._collection.insert_one(counter_registration_document(record),
                                                  session=self._session)
        except DuplicateKeyError as exc:
            raise UsernameTaken(record.username) from exc


class MongoUnitOfWork(SharedUnitOfWork):
    """The shared transaction (state + outbox + processed ids) with this service's repositories."""

    registrations: MongoRegistrationRepository
    identities: MongoIdentityRepository
    counter_registrations: MongoCounterRegistrations

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.registrations = MongoRegistrationRepository(self.db[REGISTRATIONS], self.session)
        self.identities = MongoIdentityRepository(self.db[IDENTITIES], self.session)
        self.counter_registrations = MongoCounterRegistrations(self.db[COUNTER_REGISTRATIONS],
                                                               self.session)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await super().__aexit__(exc_type, exc, tb)

    async def mark_processed(self, consumer: str, event_id: str) -> None:
        with _retryable_conflicts():
            await super().mark_processed(consumer, event_id)

    async def commit(self) -> None:
        with _retryable_conflicts():
            await super().commit()
