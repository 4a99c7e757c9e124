"""MongoDB adapters: clients, grants (authorization codes) and access tokens. Each race is one
conditional update in the server (a code's first use)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.oidc.domain.models import AccessToken, Client, Grant, RefreshToken

Document = dict[str, Any]
CLIENTS = "clients"
GRANTS = "grants"
ACCESS_TOKENS = "access_tokens"
SIGNING_KEYS = "signing_keys"
ASSERTION_IDS = "assertion_ids"
SESSION_CLIENTS = "session_clients"
REFRESH_TOKENS = "refresh_tokens"
# How long a session's clients are remembered for its back-channel logout: longer than any
# dvcid session lives.
SESSION_CLIENTS_RETENTION = timedelta(days=31)
# A used or expired code is kept a while, so a late second use is still seen as a reuse
# (and revokes what the first one issued).
GRANT_RETENTION = timedelta(hours=1)

INDEXES: dict[str, list[IndexModel]] = {
    GRANTS: [
        IndexModel([("session_id", ASCENDING)], name="session_id"),
        IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0, name="purge_at_ttl"),
    ],
    ACCESS_TOKENS: [
        IndexModel([("grant_id", ASCENDING)], name="grant_id"),
        IndexModel([("session_id", ASCENDING)], name="session_id"),
        IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0, name="purge_at_ttl"),
    ],
    # signing_keys: a handful of documents, read whole (adapters/keys.py): no index.
    ASSERTION_IDS: [IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0, name="purge_at_ttl")],
    REFRESH_TOKENS: [
        IndexModel([("family_id", ASCENDING)], name="family_id"),
        IndexModel([("session_id", ASCENDING)], name="session_id"),
        # Kept a while past expiry, so a late reuse is still seen as one.
        IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0, name="purge_at_ttl"),
    ],
    SESSION_CLIENTS: [
        IndexModel([("session_id", ASCENDING)], name="session_id"),
        IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0, name="purge_at_ttl"),
    ],
}


class MongoClients:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._c = db[CLIENTS]

    async def get(self, client_id: str) -> Client | None:
        doc = await self._c.find_one({"_id": client_id})
        if doc is None:
            return None
        return Client(client_id=doc["_id"], name=doc["name"],
                      redirect_uris=tuple(doc["redirect_uris"]), auth_method=doc["auth_method"],
                      created_at=doc["created_at"], secret_sha256=doc.get("secret_sha256"),
                      jwks_uri=doc.get("jwks_uri"), jwks=doc.get("jwks"),
                      post_logout_redirect_uris=tuple(doc.get("post_logout_redirect_uris") or ()),
                      backchannel_logout_uri=doc.get("backchannel_logout_uri"),
                      require_par=bool(doc.get("require_par")))

    async def add(self, client: Client) -> None:
        await self._c.insert_one({
            "_id": client.client_id, "name": client.name,
            "redirect_uris": list(client.redirect_uris), "auth_method": client.auth_method,
            "created_at": client.created_at, "secret_sha256": client.secret_sha256,
            "jwks_uri": client.jwks_uri, "jwks": client.jwks,
            "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
            "backchannel_logout_uri": client.backchannel_logout_uri,
            "require_par": client.require_par})


class MongoGrants:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._c = db[GRANTS]

    async def add(self, grant: Grant) -> None:
        await self._c.insert_one({
            "_id": grant.code_hash, "grant_id": grant.grant_id, "client_id": grant.client_id,
            "redirect_uri": grant.redirect_uri, "scopes": list(grant.scopes),
            "nonce": grant.nonce, "code_challenge": grant.code_challenge,
            "account_id": grant.account_id, "session_id": grant.session_id,
            "level": grant.level, "method": grant.method, "auth_time": grant.auth_time,
            "created_at": grant.created_at, "expires_at": grant.expires_at, "used_at": None,
            "purge_at": grant.expires_at + GRANT_RETENTION})

    async def void_session(self, session_id: str, now: datetime) -> int:
        result = await self._c.update_many({"session_id": session_id, "used_at": None},
                                           {"$set": {"used_at": now}})
        return result.modified_count

    async def consume(self, code_hash: str, now: datetime) -> tuple[Grant | None, bool]:
        doc = await self._c.find_one_and_update(
            {"_id": code_hash, "used_at": None}, {"$set": {"used_at": now}},
            return_document=ReturnDocument.AFTER)
        if doc is not None:
            return _grant(doc), True
        doc = await self._c.find_one({"_id": code_hash})
        return (_grant(doc), False) if doc is not None else (None, False)


def _grant(doc: Document) -> Grant:
    return Grant(code_hash=doc["_id"], grant_id=doc["grant_id"], client_id=doc["client_id"],
                 redirect_uri=doc["redirect_uri"], scopes=tuple(doc["scopes"]),
                 nonce=doc["nonce"], code_challenge=doc["code_challenge"],
                 account_id=doc["account_id"], session_id=doc["session_id"], level=doc["level"],
                 method=doc.get("method"), auth_time=doc["auth_time"],
                 created_at=doc["created_at"], expires_at=doc["expires_at"],
                 used_at=doc.get("used_at"))


class MongoAccessTokens:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._c = db[ACCESS_TOKENS]

    async def add(self, token: AccessToken) -> None:
        await self._c.insert_one({
            "_id": token.token_hash, "grant_id": token.grant_id, "client_id": token.client_id,
            "account_id": token.account_id, "subject": token.subject,
            "scopes": list(token.scopes), "issued_at": token.issued_at,
            "expires_at": token.expires_at, "revoked_at": None, "purge_at": token.expires_at,
            "session_id": token.session_id})

    async def get(self, token_hash: str) -> AccessToken | None:
        doc = await self._c.find_one({"_id": token_hash})
        if doc is None:
            return None
        return AccessToken(token_hash=doc["_id"], grant_id=doc["grant_id"],
                           client_id=doc["client_id"], account_id=doc["account_id"],
                           subject=doc["subject"], scopes=tuple(doc["scopes"]),
                           issued_at=doc["issued_at"], expires_at=doc["expires_at"],
                           revoked_at=doc.get("revoked_at"), session_id=doc.get("session_id"))

    async def revoke_grant(self, grant_id: str, now: datetime) -> int:
        result = await self._c.update_many({"grant_id": grant_id, "revoked_at": None},
                                           {"$set": {"revoked_at": now}})
        return result.modified_count

    async def revoke(self, token_hash: str, now: datetime) -> bool:
        result = await self._c.update_one({"_id": token_hash, "revoked_at": None},
                                          {"$set": {"revoked_at": now}})
        return result.modified_count == 1

    async def revoke_session(self, session_id: str, now: datetime) -> int:
        result = await self._c.update_many({"session_id": session_id, "revoked_at": None},
                                           {"$set": {"revoked_at": now}})
        return result.modified_count


class MongoAssertionIds:
    """The ``jti`` of every client assertion until it expires: one use each (a unique _id)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._c = db[ASSERTION_IDS]

    async def first_use(self, client_id: str, jti: str, until: datetime) -> bool:
        try:
            await self._c.insert_one({"_id": f"{client_id}|{jti}", "purge_at": until})
        except DuplicateKeyError:
            return False
        return True


class MongoSessionClients:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._c = db[SESSION_CLIENTS]

    async def add(self, session_id: str, client_id: str, subject: str, now: datetime) -> None:
        await self._c.update_one(
            {"_id": f"{session_id}|{client_id}"},
            {"$set": {"session_id": session_id, "client_id": client_id, "subject": subject,
                      "purge_at": now + SESSION_CLIENTS_RETENTION}}, upsert=True)

    async def take(self, session_id: str) -> list[tuple[str, str]]:
        found = [(doc["client_id"], doc["subject"])
                 async for doc in self._c.find({"session_id": session_id})]
        await self._c.delete_many({"session_id": session_id})
        return found


class MongoRefreshTokens:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._c = db[REFRESH_TOKENS]

    async def add(self, token: RefreshToken) -> None:
        await self._c.insert_one({
            "_id": token.token_hash, "family_id": token.family_id, "client_id": token.client_id,
            "account_id": token.account_id, "subject": token.subject,
            "scopes": list(token.scopes), "session_id": token.session_id, "level": token.level,
            "method": token.method, "auth_time": token.auth_time, "issued_at": token.issued_at,
            "expires_at": token.expires_at, "used_at": None, "revoked_at": None,
            "purge_at": token.expires_at + GRANT_RETENTION})

    async def get(self, token_hash: str) -> RefreshToken | None:
        doc = await self._c.find_one({"_id": token_hash})
        return _refresh(doc) if doc is not None else None

    async def use(self, token_hash: str, now: datetime) -> tuple[RefreshToken | None, bool]:
        doc = await self._c.find_one_and_update(
            {"_id": token_hash, "used_at": None}, {"$set": {"used_at": now}},
            return_document=ReturnDocument.AFTER)
        if doc is not None:
            return _refresh(doc), True
        found = await self.get(token_hash)
        return found, False

    async def revoke_family(self, family_id: str, now: datetime) -> int:
        result = await self._c.update_many({"family_id": family_id, "revoked_at": None},
                                           {"$set": {"revoked_at": now}})
        return result.modified_count

    async def revoke_session(self, session_id: str, now: datetime) -> int:
        result = await self._c.update_many({"session_id": session_id, "revoked_at": None},
                                           {"$set": {"revoked_at": now}})
        return result.modified_count


def _refresh(doc: Document) -> RefreshToken:
    return RefreshToken(token_hash=doc["_id"], family_id=doc["family_id"],
                        client_id=doc["client_id"], account_id=doc["account_id"],
                        subject=doc["subject"], scopes=tuple(doc["scopes"]),
                        session_id=doc["session_id"], level=doc["level"], method=doc.get("method"),
                        auth_time=doc["auth_time"], issued_at=doc["issued_at"],
                        expires_at=doc["expires_at"], used_at=doc.get("used_at"),
                        revoked_at=doc.get("revoked_at"))
