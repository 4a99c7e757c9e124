"""Mongo repositories of the registration service, bound to the unit of work's transaction.

Collections (database ``<prefix>_registration``):
- ``registrations``: one document per flow, ``_id`` = registration id. Only hashes of the
  flow token; purged by a TTL index a day after the flow expired (until then an expired flow
  answers ``flow_expired`` rather than ``not_found``).
- ``identities``: the duplicate-check projection, one row per identity that has an account;
  its ``id_number`` field holds the typed identity key (``CMND:…``, ``CCCD:…``, ``HC:…``,
  ``MST:…``: domain/identity_keys), unique; written by the completing transaction and by the
  AccountCreated consumer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.registration.domain.errors import AccountExists, TransactionConflict
from services.registration.domain.identity import Identity
from services.registration.domain.model import (
    FLOW_EXPIRED_CODE,
    UNFINISHED,
    IdentityRecord,
    Registration,
    Status,
)
from shared.storage import PROCESSED
from shared.storage import UnitOfWork as SharedUnitOfWork

REGISTRATIONS = "registrations"
IDENTITIES = "identities"
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


def registration_to_document(registration: Registration) -> Document:
    doc: Document = {
        "_id": registration.id,
        "status": str(registration.status),
        "method": registration.method,
        "subject_type": registration.subject_type,
        "identity": registration.identity.as_dict(),
        "phone": registration.phone,
        "email": registration.email,
        "flow_token_hash": registration.flow_token_hash,
        "created_at": registration.created_at,
        "expires_at": registration.expires_at,
        "updated_at": registration.created_at,
    }
    for name in ("account_id", "level", "code", "completed_at"):
        value = getattr(registration, name)
        if value is not None:
            doc[name] = value
    return doc


def registration_from_document(doc: Document) -> Registration:
    identity = doc["identity"]
    return Registration(
        id=doc["_id"],
        status=Status(doc["status"]),
        method=doc["method"],
        subject_type=doc["subject_type"],
        identity=Identity(id_number=identity["id_number"], full_name=identity["full_name"],
                          birth_date=date.fromisoformat(identity["birth_date"]),
                          sex=identity["sex"]),
        phone=doc["phone"],
        email=doc.get("email"),
        flow_token_hash=doc["flow_token_hash"],
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        account_id=doc.get("account_id"),
        level=doc.get("level"),
        code=doc.get("code"),
        completed_at=doc.get("completed_at"),
    )


class MongoRegistrationRepository:
    def __init__(self, collection: AsyncCollection[Document], session: AsyncClientSession) -> None:
        self._collection = collection
        self._session = session

    async def add(self, registration: Registration) -> None:
        with _retryable_conflicts():
            await self._collection.insert_one(registration_to_document(registration),
                                              session=self._session)

    async def get(self, registration_id: str) -> Registration | None:
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
    ) -> Registration | None:
        # The filter is the precondition: of two concurrent moves, exactly one matches.
        query: Document = {"_id": registration_id, "status": str(from_status)}
        if only_if_live:
            query["expires_at"] = {"$gt": now}
        update = {"$set": {**(changes or {}), "status": str(to_status), "updated_at": now}}
        with _retryable_conflicts():
            doc = await self._collection.find_one_and_update(
                query, update, return_document=ReturnDocument.AFTER, session=self._session)
        return registration_from_document(doc) if doc else None


    async def fail_one_expired(self, now: datetime) -> Registration | None:
        # One flow per call, claimed by the filter itself: sweepers in several instances
        # never fail (and announce) the same flow twice.
        query: Document = {"status": {"$in": [str(s) for s in UNFINISHED]},
                           "expires_at": {"$lte": now}}
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


class MongoUnitOfWork(SharedUnitOfWork):
    """The shared transaction (state + outbox + processed ids) with this service's repositories."""

    registrations: MongoRegistrationRepository
    identities: MongoIdentityRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.registrations = MongoRegistrationRepository(self.db[REGISTRATIONS], self.session)
        self.identities = MongoIdentityRepository(self.db[IDENTITIES], self.session)
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
