"""The shared core's integration fixture: real NATS and the MongoDB wire server
(``test_servers``, the root conftest), one fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.runtime import Infrastructure, connect_infrastructure
from shared.settings import CommonSettings
from shared.storage import ensure_indexes


@pytest.fixture
async def infra(test_servers: Any) -> AsyncIterator[Infrastructure]:
    settings = CommonSettings(nats_url=test_servers.nats_url, mongo_url=test_servers.mongo_url,
                              db_prefix=f"t{uuid.uuid4().hex[:8]}",
                              nats_nkey_seed_file=test_servers.nats_seed("test"))
    infra = await connect_infrastructure(settings, "shared")
    await ensure_indexes(infra.db, {})
    yield infra
    await infra.relay.stop()
    await infra.nc.drain()
    await infra.mongo.drop_database(infra.db.name)
    await infra.mongo.close()
