"""Mongo side of the VNeID login (issue 15): accounts found by their linked VNeID ``sub``
(``auth_methods.details.vneid_sub``, indexed), and the link added by one conditional update.

A ``sub`` is linked to one account at most: it is VNeID's name of one CCCD, and an account is
linked only where its identity key is that CCCD (the unique ``id_number`` index holds one
account per key); the update refuses an account that changed key or already has a ``vneid``
method.
"""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from services.profile.adapters.account_mongo import _method_doc
from services.profile.adapters.mongo import ACCOUNTS, _Repository, account_from_doc
from services.profile.domain.models import Account, AuthMethod
from services.profile.domain.vneid import SUB_DETAIL, VNEID_METHOD

SUB_FIELD = f"auth_methods.details.{SUB_DETAIL}"

VNEID_INDEXES: dict[str, list[IndexModel]] = {
    ACCOUNTS: [IndexModel([(SUB_FIELD, ASCENDING)], name="vneid_sub", sparse=True)],
}


class MongoVneidAccounts(_Repository):
    collection_name = ACCOUNTS

    async def find_by_sub(self, sub: str) -> Account | None:
        doc = await self._collection.find_one({SUB_FIELD: sub}, session=self._session)
        return account_from_doc(doc) if doc else None

    async def add_link(self, account_id: str, index_key: str, method: AuthMethod) -> bool:
        result = await self._collection.update_one(
            {"_id": account_id, "id_number": index_key,
             "auth_methods.type": {"$ne": VNEID_METHOD}},
            {"$push": {"auth_methods": _method_doc(method)}}, session=self._session)
        return result.modified_count == 1
