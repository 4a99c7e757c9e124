"""MongoDB adapters of consents (collection ``consents``: what each account agreed to give each
client) and of ending an account's tokens at one client (its consent revoked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from services.oidc.adapters.mongo import ACCESS_TOKENS, REFRESH_TOKENS
from services.oidc.domain.models import Consent

Document = dict[str, Any]
CONSENTS = "consents"
CONSENT_INDEXES: dict[str, list[IndexModel]] = {
    CONSENTS: [IndexModel([("account_id", ASCENDING)], name="account_id")],
}


class MongoConsents:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._c = db[CONSENTS]

    async def get(self, account_id: str, client_id: str) -> Consent | None:
        doc = await self._c.find_one({"_id": _key(account_id, client_id)})
        return _consent(doc) if doc is not None else None

    async def grant(self, account_id: str, client_id: str, scopes: tuple[str, ...],
                    now: datetime) -> None:
        await self._c.update_one(
            {"_id": _key(account_id, client_id)},
            {"$set": {"account_id": account_id, "client_id": client_id, "scopes": list(scopes),
                      "last_used_at": now},
             "$setOnInsert": {"granted_at": now}}, upsert=True)

    async def used(self, account_id: str, client_id: str, now: datetime) -> None:
        await self._c.update_one({"_id": _key(account_id, client_id)},
                                 {"$set": {"last_used_at": now}})

    async def of_account(self, account_id: str) -> list[Consent]:
        return [_consent(doc) async for doc in self._c.find({"account_id": account_id})]

    async def forget(self, account_id: str, client_id: str) -> bool:
        result = await self._c.delete_one({"_id": _key(account_id, client_id)})
        return result.deleted_count == 1


class MongoClientGrants:
    """Ends an account's access and refresh tokens at one client (rare: a person revoking a
    consent from the account page, so no index of its own)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    async def revoke(self, account_id: str, client_id: str, now: datetime) -> int:
        ended = 0
        for name in (ACCESS_TOKENS, REFRESH_TOKENS):
            result = await self._db[name].update_many(
                {"account_id": account_id, "client_id": client_id, "revoked_at": None},
                {"$set": {"revoked_at": now}})
            ended += result.modified_count
        return ended


def _key(account_id: str, client_id: str) -> str:
    return f"{account_id}|{client_id}"


def _consent(doc: Document) -> Consent:
    return Consent(account_id=doc["account_id"], client_id=doc["client_id"],
                   scopes=tuple(doc["scopes"]), granted_at=doc["granted_at"],
                   last_used_at=doc["last_used_at"])
