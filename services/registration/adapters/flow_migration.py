"""At every start-up: flows still in the collections of the former flow families move into
the one ``registrations`` collection (issue 16), so an upgrade loses no flow.

Before, USB/SIM flows lived in ``signature_registrations`` and counter flows in
``counter_flows``. Each document is copied under its own ``_id`` (an insert that meets the
copy already there is a no-op) and only then deleted from the old collection: a crash between
the two, or two instances migrating together, leaves one copy and no loss. It runs before
the service answers; on a database with nothing left to move it costs one empty read per
old collection, so it stays harmless (and also picks up a flow an instance of the previous
version wrote during a rolling upgrade, at the next start).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.registration.adapters.mongo import REGISTRATIONS
from services.registration.domain.methods import post_office
from shared.logging import get_logger

log = get_logger(__name__)

Document = dict[str, Any]

SIGNATURE_REGISTRATIONS = "signature_registrations"
COUNTER_FLOWS = "counter_flows"


def from_signature_flow(doc: Document) -> Document:
    """A signature flow already has the one flow's shape (method usb or sim)."""
    return dict(doc)


def from_counter_flow(doc: Document) -> Document:
    """A counter flow: its agent and office become the flow's ``agent``; no flow token."""
    moved: Document = {name: doc[name] for name in ("_id", "status", "identity", "phone", "created_at",
                                          "expires_at") if name in doc}
    moved |= {"method": post_office.METHOD, "subject_type": "citizen",
              "agent": {"account_id": doc["agent_account_id"], "office": dict(doc["office"])},
              "updated_at": doc.get("completed_at", doc.get("created_at"))}
    for name in ("email", "completed_at"):
        if doc.get(name) is not None:
            moved[name] = doc[name]
    return moved


_OLD_COLLECTIONS: dict[str, Callable[[Document], Document]] = {
    SIGNATURE_REGISTRATIONS: from_signature_flow,
    COUNTER_FLOWS: from_counter_flow,
}


async def migrate_flows(db: AsyncDatabase[Document]) -> int:
    """Moves every flow of the old collections into ``registrations``; how many moved."""
    moved = 0
    for name, convert in _OLD_COLLECTIONS.items():
        async for doc in db[name].find({}):
            try:
                await db[REGISTRATIONS].insert_one(convert(doc))
            except DuplicateKeyError:
                pass  # copied before (a crash before the delete, or another instance)
            else:
                moved += 1
            await db[name].delete_one({"_id": doc["_id"]})
    if moved:
        log.info("registration flows moved into one collection", flows=moved)
    return moved
