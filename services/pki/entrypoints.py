"""NATS wiring of the pki service."""

from __future__ import annotations

from typing import Any

from services.pki import handlers
from services.pki.adapters.trust_store import load_trust_anchors
from services.pki.config import PkiSettings
from shared.runtime import Infrastructure, Wiring


async def wire(infra: Infrastructure) -> Wiring:
    settings = infra.settings
    assert isinstance(settings, PkiSettings)
    anchors = load_trust_anchors(settings.trust_anchor_files)

    async def status(_payload: dict[str, Any]) -> dict[str, Any]:
        return await handlers.status(anchors)

    return Wiring(endpoints={"status": status})
