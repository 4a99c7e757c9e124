"""Once per database: accounts written before identity keys carried their type get them.

Before, the unique ``id_number`` field of an account held the bare number (``123456789``,
``agent:001088001122``), so a passport ``HC:123456789`` and the CMND ``123456789`` were one key.
Now it holds the typed key (domain/identity_keys). This runs at start-up, before the service
answers, and marks itself done in ``migrations`` so later starts skip the scan; each account
moves with one conditional update, so two instances starting together do no harm.

What an old account does not say is derived: an enterprise's number is its tax code (MST); a
citizen's 9- or 12-digit number was typed as CMND/CCCD (every method that asks for a number
asks for that); any other citizen number can only have come from a passport certificate (HC),
and such an account keeps no username (a passport number is never a password login name).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.profile.adapters.mongo import ACCOUNTS, account_from_doc
from services.profile.domain.identity_keys import PASSPORT_TYPE, id_type_of, typed_in_id_type
from services.profile.domain.models import AGENCY_SUBJECT
from shared.logging import get_logger

log = get_logger(__name__)

MIGRATIONS = "migrations"
MIGRATION_ID = "profile.typed_identity_keys"
_TYPED = ("CMND:", "CCCD:", "HC:", "MST:", "agent:CMND:", "agent:CCCD:", "agency:")


async def migrate_identity_keys(db: AsyncDatabase[dict[str, Any]]) -> int:
    """Types every untyped account key; the number of accounts changed."""
    if await db[MIGRATIONS].find_one({"_id": MIGRATION_ID}) is not None:
        return 0
    moved = 0
    async for doc in db[ACCOUNTS].find({}):
        if str(doc.get("id_number", "")).startswith(_TYPED):
            continue
        moved += await _migrate(db, doc)
    await db[MIGRATIONS].update_one({"_id": MIGRATION_ID}, {"$set": {"accounts": moved}},
                                    upsert=True)
    log.info("identity keys typed", accounts=moved)
    return moved


async def _migrate(db: AsyncDatabase[dict[str, Any]], doc: dict[str, Any]) -> int:
    account = account_from_doc(doc)
    if account.subject_type == AGENCY_SUBJECT:
        return 0  # agency:<code> is the agency's own code
    number = account.id_number
    id_type = account.identity.id_type or (
        PASSPORT_TYPE if account.subject_type == "citizen" and typed_in_id_type(number) is None
        else id_type_of(account.subject_type, None, number))
    account.identity = dataclasses.replace(account.identity, id_type=id_type)
    changes: dict[str, Any] = {"id_number": account.index_key, "identity.id_type": id_type}
    update: dict[str, Any] = {"$set": changes}
    if id_type == PASSPORT_TYPE and account.username == number:
        update["$unset"] = {"username": ""}
    try:
        result = await db[ACCOUNTS].update_one({"_id": doc["_id"], "id_number": doc["id_number"]},
                                               update)
    except DuplicateKeyError:
        # Two accounts for one typed identity: an operator must look (never merged blindly).
        log.warning("identity key taken by another account", account_id=account.account_id)
        return 0
    return result.modified_count
