"""Once per database: rows of the duplicate-check projection written before identity keys
carried their type get them (domain/identity_keys).

Before, ``identities.id_number`` held the bare number, so a passport ``HC:123456789`` and the
CMND ``123456789`` were one key (one refused the other with account_exists). This runs at
start-up, before the service answers, and marks itself done in ``migrations``; each row moves
with one conditional update, so two instances starting together do no harm.

An old row does not say its type: an enterprise's is its tax code (MST); a citizen's 9- or
12-digit number was typed as CMND/CCCD; any other citizen number came from a passport (HC).
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.registration.adapters.mongo import IDENTITIES
from services.registration.domain.identity_keys import event_identity_key
from shared.logging import get_logger

log = get_logger(__name__)

MIGRATIONS = "migrations"
MIGRATION_ID = "registration.typed_identity_keys"
_TYPED = ("CMND:", "CCCD:", "HC:", "MST:")


def legacy_key(subject_type: str, number: str) -> str:
    try:
        return event_identity_key(subject_type, None, number)
    except ValueError:
        return event_identity_key(subject_type, "HC", number)


async def migrate_identity_keys(db: AsyncDatabase[dict[str, Any]]) -> int:
    """Types every untyped key of the projection; the number of rows changed."""
    if await db[MIGRATIONS].find_one({"_id": MIGRATION_ID}) is not None:
        return 0
    moved = 0
    async for row in db[IDENTITIES].find({}):
        number = str(row.get("id_number", ""))
        if number.startswith(_TYPED):
            continue
        key = legacy_key(str(row.get("subject_type", "citizen")), number)
        try:
            result = await db[IDENTITIES].update_one({"_id": row["_id"], "id_number": number},
                                                     {"$set": {"id_number": key}})
        except DuplicateKeyError:
            log.warning("identity key already recorded", account_id=row["_id"])
            continue
        moved += result.modified_count
    await db[MIGRATIONS].update_one({"_id": MIGRATION_ID}, {"$set": {"rows": moved}},
                                    upsert=True)
    log.info("identity keys typed", rows=moved)
    return moved
