"""Mongo repository of the signature registrations (USB token, SIM), bound to the unit of
work's transaction.

Collection ``signature_registrations`` (database ``<prefix>_registration``): one document per
flow, ``_id`` = registration id, purged by a TTL index a day after the flow expired. A
collection of its own, because these flows have another shape (the identity comes from the
certificate, there is no password) and other states than the OTP flows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from services.registration.adapters.mongo import (
    EXPIRED_FLOW_RETENTION_SECONDS,
    MongoUnitOfWork,
    _retryable_conflicts,
)
from services.registration.domain.model import FLOW_EXPIRED_CODE
from services.registration.domain.signature import (
    UNFINISHED,
    CertificateBinding,
    CertifiedIdentity,
    SignatureRegistration,
    SignatureStatus,
)

SIGNATURE_REGISTRATIONS = "signature_registrations"

SIGNATURE_INDEXES: dict[str, list[IndexModel]] = {
    SIGNATURE_REGISTRATIONS: [
        IndexModel([("expires_at", ASCENDING)], name="purge_expired",
                   expireAfterSeconds=EXPIRED_FLOW_RETENTION_SECONDS),
        IndexModel([("status", ASCENDING), ("expires_at", ASCENDING)], name="expiry_sweep"),
    ],
}

Document = dict[str, Any]


def to_document(registration: SignatureRegistration) -> Document:
    doc: Document = {
        "_id": registration.id,
        "status": str(registration.status),
        "method": registration.method,
        "subject_type": registration.subject_type,
        "flow_token_hash": registration.flow_token_hash,
        "created_at": registration.created_at,
        "expires_at": registration.expires_at,
        "updated_at": registration.created_at,
    }
    for name in ("phone", "email", "account_id", "level", "code", "completed_at"):
        value = getattr(registration, name)
        if value is not None:
            doc[name] = value
    doc.update(_encode(proof_fields(registration)))
    return doc


def proof_fields(registration: SignatureRegistration) -> dict[str, Any]:
    return {"identity": registration.identity, "certificate": registration.certificate}


def _encode(changes: dict[str, Any]) -> Document:
    """Domain values of ``changes`` as BSON-ready values."""
    encoded: Document = {}
    for name, value in changes.items():
        if isinstance(value, CertifiedIdentity | CertificateBinding):
            encoded[name] = value.as_dict()
        elif isinstance(value, SignatureStatus):
            encoded[name] = str(value)
        else:
            encoded[name] = value
    return encoded


def from_document(doc: Document) -> SignatureRegistration:
    identity = doc.get("identity")
    certificate = doc.get("certificate")
    return SignatureRegistration(
        id=doc["_id"],
        status=SignatureStatus(doc["status"]),
        method=doc["method"],
        subject_type=doc["subject_type"],
        flow_token_hash=doc["flow_token_hash"],
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        phone=doc.get("phone"),
        identity=CertifiedIdentity.from_dict(identity) if identity else None,
        certificate=CertificateBinding.from_dict(certificate) if certificate else None,
        email=doc.get("email"),
        account_id=doc.get("account_id"),
        level=doc.get("level"),
        code=doc.get("code"),
        completed_at=doc.get("completed_at"),
    )


class MongoSignatureRegistrationRepository:
    def __init__(self, collection: AsyncCollection[Document], session: AsyncClientSession) -> None:
        self._collection = collection
        self._session = session

    async def add(self, registration: SignatureRegistration) -> None:
        with _retryable_conflicts():
            await self._collection.insert_one(to_document(registration), session=self._session)

    async def get(self, registration_id: str) -> SignatureRegistration | None:
        with _retryable_conflicts():
            doc = await self._collection.find_one({"_id": registration_id}, session=self._session)
        return from_document(doc) if doc else None

    async def transition(self, registration_id: str, *, from_status: SignatureStatus,
                         to_status: SignatureStatus, now: datetime,
                         changes: dict[str, Any] | None = None,
                         only_if_live: bool = True) -> SignatureRegistration | None:
        # The filter is the precondition: of two concurrent moves, exactly one matches.
        query: Document = {"_id": registration_id, "status": str(from_status)}
        if only_if_live:
            query["expires_at"] = {"$gt": now}
        update = {"$set": {**_encode(changes or {}), "status": str(to_status),
                           "updated_at": now}}
        with _retryable_conflicts():
            doc = await self._collection.find_one_and_update(
                query, update, return_document=ReturnDocument.AFTER, session=self._session)
        return from_document(doc) if doc else None

    async def fail_one_expired(self, now: datetime) -> SignatureRegistration | None:
        query: Document = {"status": {"$in": [str(s) for s in UNFINISHED]},
                           "expires_at": {"$lte": now}}
        update = {"$set": {"status": str(SignatureStatus.FAILED), "code": FLOW_EXPIRED_CODE,
                           "updated_at": now}}
        with _retryable_conflicts():
            doc = await self._collection.find_one_and_update(
                query, update, sort=[("expires_at", ASCENDING)],
                return_document=ReturnDocument.AFTER, session=self._session)
        return from_document(doc) if doc else None


class MongoSignatureUnitOfWork(MongoUnitOfWork):
    """The registration unit of work with the signature flows' repository as well."""

    signature_registrations: MongoSignatureRegistrationRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.signature_registrations = MongoSignatureRegistrationRepository(
            self.db[SIGNATURE_REGISTRATIONS], self.session)
        return self
