"""Mongo side of the login with a digital signature: the ``certificate_logins`` collection,
the account lookups by certificate, and the unit of work that holds both.

Accounts are found only by the fingerprint of a bound certificate (``auth_methods.details.
fingerprint_sha256``, indexed): the login binds nothing (registration and the add-method flow
do).
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, IndexModel

from services.profile.adapters.mongo import (
    ACCOUNTS,
    FLOW_KEPT_AFTER_EXPIRY_SECONDS,
    Document,
    _Repository,
    account_from_doc,
)
from services.profile.domain.certificate_login import CertificateLogin
from services.profile.domain.models import Account

CERTIFICATE_LOGINS = "certificate_logins"
FINGERPRINT_FIELD = "auth_methods.details.fingerprint_sha256"

CERTIFICATE_INDEXES: dict[str, list[IndexModel]] = {
    ACCOUNTS: [IndexModel([(FINGERPRINT_FIELD, ASCENDING)], name="certificate_fingerprint",
                          sparse=True)],
    CERTIFICATE_LOGINS: [IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl",
                                    expireAfterSeconds=FLOW_KEPT_AFTER_EXPIRY_SECONDS)],
}


class MongoCertificateLogins(_Repository):
    collection_name = CERTIFICATE_LOGINS

    async def add(self, flow: CertificateLogin) -> None:
        await self._collection.insert_one(flow_to_doc(flow), session=self._session)

    async def get(self, flow_id: str) -> CertificateLogin | None:
        doc = await self._collection.find_one({"_id": flow_id}, session=self._session)
        return flow_from_doc(doc) if doc else None

    async def complete(self, flow_id: str, account_id: str, session_id: str,
                       now: datetime) -> bool:
        return await self._move(flow_id, now, {"status": "completed", "account_id": account_id,
                                               "session_id": session_id, "completed_at": now})

    async def fail(self, flow_id: str, code: str, now: datetime) -> bool:
        return await self._move(flow_id, None, {"status": "failed", "code": code})

    async def _move(self, flow_id: str, live_at: datetime | None, changes: Document) -> bool:
        query: Document = {"_id": flow_id, "status": "awaiting_signature"}
        if live_at is not None:
            query["expires_at"] = {"$gt": live_at}
        return await self._set_if(query, changes)


class MongoCertificateAccounts(_Repository):
    collection_name = ACCOUNTS

    async def find_by_fingerprint(self, fingerprint_sha256: str) -> Account | None:
        doc = await self._collection.find_one({FINGERPRINT_FIELD: fingerprint_sha256},
                                              session=self._session)
        return account_from_doc(doc) if doc else None


def flow_to_doc(flow: CertificateLogin) -> Document:
    return {
        "_id": flow.flow_id, "method": flow.method, "status": flow.status,
        "flow_token_hash": flow.flow_token_hash, "created_at": flow.created_at,
        "expires_at": flow.expires_at, "phone": flow.phone, "ip": flow.ip,
        "user_agent": flow.user_agent, "account_id": flow.account_id,
        "session_id": flow.session_id, "code": flow.code, "completed_at": flow.completed_at,
    }


def flow_from_doc(doc: Document) -> CertificateLogin:
    return CertificateLogin(
        flow_id=doc["_id"], method=doc["method"], status=doc["status"],
        flow_token_hash=doc["flow_token_hash"], created_at=doc["created_at"],
        expires_at=doc["expires_at"], phone=doc.get("phone"), ip=doc.get("ip"),
        user_agent=doc.get("user_agent"), account_id=doc.get("account_id"),
        session_id=doc.get("session_id"), code=doc.get("code"),
        completed_at=doc.get("completed_at"),
    )

