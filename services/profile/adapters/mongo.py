"""The profile collections in MongoDB: documents, indexes, repositories and the unit of work.

Repositories are bound to a client session: the unit of work's (inside its transaction) or
none (the store: reads and single-document atomic updates, e.g. touching a session, which
needs no transaction and is on every authenticated request).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from services.profile.domain.credentials import StagedCredential
from services.profile.domain.identity_keys import login_name_key
from services.profile.domain.models import (
    Account,
    AuthMethod,
    Identity,
    LoginFlow,
    LoginRecord,
    PasswordReset,
    Phone,
    Session,
)

Document = dict[str, Any]
Db = AsyncDatabase[Document]

ACCOUNTS = "accounts"
LOGIN_FLOWS = "login_flows"
SESSIONS = "sessions"
LOGIN_HISTORY = "login_history"
PASSWORD_RESETS = "password_resets"
# Password hashes handed over by registration until their AccountCreated takes them
# (domain/credentials.py); read by _id only.
STAGED_CREDENTIALS = "staged_credentials"
# An expired flow is kept an hour so its holder hears flow_expired rather than not_found.
FLOW_KEPT_AFTER_EXPIRY_SECONDS = 3600

INDEXES: dict[str, list[IndexModel]] = {
    ACCOUNTS: [
        IndexModel([("id_number", ASCENDING)], unique=True, name="id_number_unique"),
        # Sparse: accounts without a username (enterprises) do not collide on a missing one.
        IndexModel([("username", ASCENDING)], unique=True, sparse=True, name="username_unique"),
    ],
    LOGIN_FLOWS: [
        IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl",
                   expireAfterSeconds=FLOW_KEPT_AFTER_EXPIRY_SECONDS),
    ],
    SESSIONS: [
        IndexModel([("token_hash", ASCENDING)], unique=True, name="token_hash_unique"),
        IndexModel([("absolute_expires_at", ASCENDING)], name="absolute_expires_at_ttl",
                   expireAfterSeconds=0),
        # "Active sessions" of an account, and ending all of them (password reset).
        IndexModel([("account_id", ASCENDING), ("created_at", DESCENDING)],
                   name="account_sessions"),
    ],
    LOGIN_HISTORY: [
        IndexModel([("account_id", ASCENDING), ("at", DESCENDING)], name="account_history"),
    ],
    PASSWORD_RESETS: [
        IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl",
                   expireAfterSeconds=FLOW_KEPT_AFTER_EXPIRY_SECONDS),
    ],
    STAGED_CREDENTIALS: [
        IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0),
    ],
}


def merge_indexes(*parts: dict[str, list[IndexModel]]) -> dict[str, list[IndexModel]]:
    """The indexes of several parts of the service, the lists of a collection both name
    joined."""
    merged: dict[str, list[IndexModel]] = {}
    for part in parts:
        for name, models in part.items():
            merged.setdefault(name, []).extend(models)
    return merged


class _Repository:
    collection_name: str

    def __init__(self, db: Db, session: AsyncClientSession | None = None) -> None:
        self._collection = db[self.collection_name]
        self._session = session

    async def _set_if(self, query: Document, changes: Document) -> bool:
        """One conditional update of a flow (a state move): True for one caller only. A
        concurrent transaction finishing the same flow wins: False here, not an error."""
        try:
            doc = await self._collection.find_one_and_update(query, {"$set": changes},
                                                             session=self._session)
        except OperationFailure as exc:
            if exc.has_error_label("TransientTransactionError"):
                return False
            raise
        return doc is not None


class MongoAccounts(_Repository):
    collection_name = ACCOUNTS

    async def add(self, account: Account) -> None:
        await self._collection.insert_one(account_to_doc(account), session=self._session)

    async def get(self, account_id: str) -> Account | None:
        doc = await self._collection.find_one({"_id": account_id}, session=self._session)
        return account_from_doc(doc) if doc else None

    async def find_by_login_name(self, name: str) -> Account | None:
        # The username first: should an issued username ever equal someone's ID number, the
        # account it was issued to is the one meant. Then the number as the CMND/CCCD it was
        # typed as: never a passport's or a tax code's account (domain/identity_keys).
        doc = await self._collection.find_one({"username": name}, session=self._session)
        key = login_name_key(name)
        if doc is None and key is not None:
            doc = await self._collection.find_one({"id_number": key}, session=self._session)
        return account_from_doc(doc) if doc else None

    async def find_by_key(self, key: str) -> Account | None:
        doc = await self._collection.find_one({"id_number": key}, session=self._session)
        return account_from_doc(doc) if doc else None

    async def replace_phone(self, account_id: str, phone_id: str, phone: str,
                            now: datetime) -> bool:
        result = await self._collection.update_one(
            {"_id": account_id, "phones.phone_id": phone_id},
            {"$set": {"phones.$.phone": phone, "phones.$.added_at": now}},
            session=self._session)
        return result.matched_count == 1

    async def set_disabled(self, account_id: str, disabled_at: datetime | None) -> bool:
        result = await self._collection.update_one(
            {"_id": account_id}, {"$set": {"disabled_at": disabled_at}}, session=self._session)
        return result.matched_count == 1

    async def set_password(self, account_id: str, password_hash: str) -> bool:
        result = await self._collection.update_one(
            {"_id": account_id},
            {"$set": {"password_hash": password_hash, "must_change_password": False}},
            session=self._session)
        return result.matched_count == 1


class MongoLoginFlows(_Repository):
    collection_name = LOGIN_FLOWS

    async def add(self, flow: LoginFlow) -> None:
        await self._collection.insert_one(flow_to_doc(flow), session=self._session)

    async def get(self, flow_id: str) -> LoginFlow | None:
        doc = await self._collection.find_one({"_id": flow_id}, session=self._session)
        return flow_from_doc(doc) if doc else None

    async def complete(self, flow_id: str, session_id: str, now: datetime) -> bool:
        return await self._set_if(
            {"_id": flow_id, "status": "otp_sent", "expires_at": {"$gt": now}},
            # The staged first-login password is the account's now: not kept twice.
            {"status": "completed", "session_id": session_id, "completed_at": now,
             "pending_password_hash": None})

    async def redirect_otp(self, flow_id: str, now: datetime, *, phone: str, phone_id: str,
                           otp_ref: str, new_phone: str | None) -> bool:
        doc = await self._collection.find_one_and_update(
            {"_id": flow_id, "status": "otp_sent", "expires_at": {"$gt": now}},
            {"$set": {"phone": phone, "phone_id": phone_id, "otp_ref": otp_ref,
                      "new_phone": new_phone}},
            session=self._session)
        return doc is not None

    async def advance(self, flow_id: str, from_status: str, to_status: str,
                      now: datetime) -> bool:
        doc = await self._collection.find_one_and_update(
            {"_id": flow_id, "status": from_status, "expires_at": {"$gt": now}},
            {"$set": {"status": to_status}}, session=self._session)
        return doc is not None

    async def stage_password(self, flow_id: str, password_hash: str, now: datetime) -> bool:
        doc = await self._collection.find_one_and_update(
            {"_id": flow_id, "status": "password_change_required", "expires_at": {"$gt": now}},
            {"$set": {"status": "otp_sent", "pending_password_hash": password_hash}},
            session=self._session)
        return doc is not None


class MongoPasswordResets(_Repository):
    collection_name = PASSWORD_RESETS

    async def add(self, reset: PasswordReset) -> None:
        await self._collection.insert_one(reset_to_doc(reset), session=self._session)

    async def get(self, reset_id: str) -> PasswordReset | None:
        doc = await self._collection.find_one({"_id": reset_id}, session=self._session)
        return reset_from_doc(doc) if doc else None

    async def advance(self, reset_id: str, from_status: str, to_status: str,
                      now: datetime) -> bool:
        doc = await self._collection.find_one_and_update(
            {"_id": reset_id, "status": from_status, "expires_at": {"$gt": now}},
            {"$set": {"status": to_status}}, session=self._session)
        return doc is not None


class MongoSessions(_Repository):
    collection_name = SESSIONS

    async def add(self, session: Session) -> None:
        await self._collection.insert_one(session_to_doc(session), session=self._session)

    async def touch(self, token_hash: str, now: datetime,
                    idle_expires_at: datetime) -> Session | None:
        return await self._touch({"token_hash": token_hash}, now, idle_expires_at)

    async def touch_by_id(self, session_id: str, now: datetime,
                          idle_expires_at: datetime) -> Session | None:
        return await self._touch({"_id": session_id}, now, idle_expires_at)

    async def _touch(self, match: Document, now: datetime,
                     idle_expires_at: datetime) -> Session | None:
        doc = await self._collection.find_one_and_update(
            match | {"revoked_at": None,
                     "idle_expires_at": {"$gt": now}, "absolute_expires_at": {"$gt": now}},
            # $max: a slower concurrent touch never moves the expiry back.
            {"$max": {"last_seen_at": now, "idle_expires_at": idle_expires_at}},
            return_document=ReturnDocument.AFTER, session=self._session)
        return session_from_doc(doc) if doc else None

    async def revoke(self, token_hash: str, now: datetime) -> Session | None:
        doc = await self._collection.find_one_and_update(
            {"token_hash": token_hash, "revoked_at": None},
            {"$set": {"revoked_at": now}},
            return_document=ReturnDocument.AFTER, session=self._session)
        return session_from_doc(doc) if doc else None

    async def revoke_all(self, account_id: str, now: datetime) -> list[Session]:
        cursor = self._collection.find({"account_id": account_id, "revoked_at": None},
                                       session=self._session)
        live = [session_from_doc(d) async for d in cursor]
        if live:
            await self._collection.update_many(
                {"_id": {"$in": [s.session_id for s in live]}, "revoked_at": None},
                {"$set": {"revoked_at": now}}, session=self._session)
        return live


class MongoLoginHistory(_Repository):
    collection_name = LOGIN_HISTORY

    async def add(self, record: LoginRecord) -> None:
        await self._collection.insert_one(record_to_doc(record), session=self._session)

    async def recent(self, account_id: str, limit: int,
                     before: datetime | None = None) -> list[LoginRecord]:
        query: Document = {"account_id": account_id}
        if before is not None:
            query["at"] = {"$lt": before}
        cursor = self._collection.find(query, session=self._session)
        return [record_from_doc(d) async for d in cursor.sort("at", DESCENDING).limit(limit)]


class MongoStagedCredentials(_Repository):
    collection_name = STAGED_CREDENTIALS

    async def add(self, staged: StagedCredential) -> None:
        await self._collection.insert_one(
            {"_id": staged.credential_id, "registration_id": staged.registration_id,
             "password_hash": staged.password_hash, "created_at": staged.created_at,
             "expires_at": staged.expires_at}, session=self._session)

    async def take(self, credential_id: str, registration_id: str) -> str | None:
        # Removed as it is taken: the hash then lives in the account only.
        doc = await self._collection.find_one_and_delete(
            {"_id": credential_id, "registration_id": registration_id}, session=self._session)
        return doc["password_hash"] if doc else None


class MongoStore:
    """The repositories without a transaction."""

    def __init__(self, db: Db, session: AsyncClientSession | None = None) -> None:
        self.accounts = MongoAccounts(db, session)
        self.logins = MongoLoginFlows(db, session)
        self.sessions = MongoSessions(db, session)
        self.history = MongoLoginHistory(db, session)
        self.resets = MongoPasswordResets(db, session)
        self.credentials = MongoStagedCredentials(db, session)


# --- documents ---------------------------------------------------------------------------

def account_to_doc(account: Account) -> Document:
    doc: Document = {
        "_id": account.account_id,
        "subject_type": account.subject_type,
        "level": account.level,
        "identity": account.identity.to_dict(),
        "id_number": account.index_key,
        "phones": [{"phone_id": p.phone_id, "phone": p.phone, "otp": p.otp,
                    "added_at": p.added_at} for p in account.phones],
        "email": account.email,
        "address": account.address,
        "password_hash": account.password_hash,
        "auth_methods": [{"id": m.method_id, "type": m.type, "created_at": m.created_at,
                          "phone_id": m.phone_id, "details": m.details}
                         for m in account.auth_methods],
        "created_at": account.created_at,
        "registration_id": account.registration_id,
        "must_change_password": account.must_change_password,
        "roles": account.roles,
        "organisation": account.organisation,
        "disabled_at": account.disabled_at,
    }
    # Absent, not null: the sparse unique index skips only documents without the field.
    if account.username is not None:
        doc["username"] = account.username
    return doc


def account_from_doc(doc: Document) -> Account:
    return Account(
        account_id=doc["_id"], subject_type=doc["subject_type"], level=doc["level"],
        identity=Identity(**doc["identity"]), registration_id=doc["registration_id"],
        created_at=doc["created_at"],
        phones=[Phone(p["phone_id"], p["phone"], p["otp"], p["added_at"])
                for p in doc.get("phones", [])],
        auth_methods=[AuthMethod(m["id"], m["type"], m["created_at"], m.get("phone_id"),
                                 m.get("details") or {}) for m in doc.get("auth_methods", [])],
        username=doc.get("username"), email=doc.get("email"), address=doc.get("address"),
        password_hash=doc.get("password_hash"),
        must_change_password=bool(doc.get("must_change_password", False)),
        roles=list(doc.get("roles") or []), organisation=dict(doc.get("organisation") or {}),
        disabled_at=doc.get("disabled_at"),
    )


def flow_to_doc(flow: LoginFlow) -> Document:
    return {
        "_id": flow.flow_id, "account_id": flow.account_id, "method": flow.method,
        "status": flow.status, "flow_token_hash": flow.flow_token_hash, "phone": flow.phone,
        "phone_id": flow.phone_id, "created_at": flow.created_at,
        "expires_at": flow.expires_at, "ip": flow.ip, "user_agent": flow.user_agent,
        "session_id": flow.session_id, "completed_at": flow.completed_at,
        "new_phone": flow.new_phone, "otp_ref": flow.otp_ref,
        "pending_password_hash": flow.pending_password_hash,
    }


def flow_from_doc(doc: Document) -> LoginFlow:
    return LoginFlow(
        flow_id=doc["_id"], account_id=doc["account_id"], method=doc["method"],
        status=doc["status"], flow_token_hash=doc["flow_token_hash"], phone=doc["phone"],
        phone_id=doc["phone_id"], created_at=doc["created_at"], expires_at=doc["expires_at"],
        ip=doc.get("ip"), user_agent=doc.get("user_agent"), session_id=doc.get("session_id"),
        completed_at=doc.get("completed_at"), new_phone=doc.get("new_phone"),
        otp_ref=doc.get("otp_ref"), pending_password_hash=doc.get("pending_password_hash"),
    )


def session_to_doc(session: Session) -> Document:
    return {
        "_id": session.session_id, "token_hash": session.token_hash,
        "account_id": session.account_id, "level": session.level, "method": session.method,
        "login_id": session.login_id, "created_at": session.created_at,
        "last_seen_at": session.last_seen_at, "idle_expires_at": session.idle_expires_at,
        "absolute_expires_at": session.absolute_expires_at, "ip": session.ip,
        "user_agent": session.user_agent, "revoked_at": session.revoked_at,
        "reauthenticated_at": session.reauthenticated_at,
        "reauthenticated_level": session.reauthenticated_level,
    }


def session_from_doc(doc: Document) -> Session:
    return Session(
        session_id=doc["_id"], token_hash=doc["token_hash"], account_id=doc["account_id"],
        level=doc["level"], method=doc["method"], login_id=doc["login_id"],
        created_at=doc["created_at"], last_seen_at=doc["last_seen_at"],
        idle_expires_at=doc["idle_expires_at"],
        absolute_expires_at=doc["absolute_expires_at"], ip=doc.get("ip"),
        user_agent=doc.get("user_agent"), revoked_at=doc.get("revoked_at"),
        reauthenticated_at=doc.get("reauthenticated_at"),
        reauthenticated_level=doc.get("reauthenticated_level"),
    )


def record_to_doc(record: LoginRecord) -> Document:
    return {
        "_id": record.record_id, "account_id": record.account_id, "login_id": record.login_id,
        "at": record.at, "method": record.method, "result": record.result,
        "reason": record.reason, "ip": record.ip, "user_agent": record.user_agent,
    }


def record_from_doc(doc: Document) -> LoginRecord:
    return LoginRecord(
        record_id=doc["_id"], account_id=doc.get("account_id"), login_id=doc["login_id"],
        at=doc["at"], method=doc["method"], result=doc["result"], reason=doc.get("reason"),
        ip=doc.get("ip"), user_agent=doc.get("user_agent"),
    )


def reset_to_doc(reset: PasswordReset) -> Document:
    return {"_id": reset.reset_id, "account_id": reset.account_id, "status": reset.status,
            "flow_token_hash": reset.flow_token_hash, "phone": reset.phone,
            "created_at": reset.created_at, "expires_at": reset.expires_at, "ip": reset.ip}


def reset_from_doc(doc: Document) -> PasswordReset:
    return PasswordReset(reset_id=doc["_id"], account_id=doc.get("account_id"),
                         status=doc["status"], flow_token_hash=doc["flow_token_hash"],
                         phone=doc.get("phone"), created_at=doc["created_at"],
                         expires_at=doc["expires_at"], ip=doc.get("ip"))
