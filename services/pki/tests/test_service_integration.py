"""The wired pki service on real NATS and MongoDB, with the sandbox CA over real HTTP:
challenge → verify_signature over RPC, the atomic single use in Mongo, and the outbox."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.pki.adapters.mongo import MongoChallenges
from services.pki.config import PkiSettings
from services.pki.domain.challenge import new_challenge
from services.pki.entrypoints import wire
from services.pki.tests.conftest import RunningSandbox
from services.pki.tests.signing import sign
from shared.contracts import pki as PKI
from shared.contracts.base import Rpc
from shared.rpc import RemoteError, RpcClient, RpcServer
from shared.runtime import Infrastructure, Wiring, connect_infrastructure
from shared.storage import OUTBOX, ensure_indexes

pytestmark = pytest.mark.integration


@dataclass
class Running:
    infra: Infrastructure
    wiring: Wiring
    rpc: RpcClient
    name: str

    async def call(self, endpoint: Rpc[Any, Any], payload: dict[str, Any]) -> dict[str, Any]:
        """The endpoint as served by the service under test (a name of its own); the answer as
        it was sent."""
        answer = await self.rpc.ask(replace(endpoint, service=self.name),
                                    endpoint.request.model_validate(payload))
        wire: dict[str, Any] = answer.wire()
        return wire


@pytest.fixture
async def running(test_servers: Any, sandbox: RunningSandbox) -> AsyncIterator[Running]:
    settings = PkiSettings(nats_url=test_servers.nats_url, mongo_url=test_servers.mongo_url,
                           db_prefix=f"t{uuid.uuid4().hex[:8]}",
                           nats_nkey_seed_file=test_servers.nats_seed("test"),
                           trust_anchor_files=str(sandbox.ca_dir / "root.pem"),
                           mobile_signature_url=f"{sandbox.url}/mobile-signature/v1")
    infra = await connect_infrastructure(settings, "pki")
    wiring = await wire(infra)
    await ensure_indexes(infra.db, wiring.indexes)
    name = f"pki{uuid.uuid4().hex[:6]}"
    server = RpcServer(infra.nc, name, "0.1.0", "pki under test")
    for endpoint, handler in wiring.endpoints.items():
        server.endpoint(endpoint, handler)
    await server.start()
    yield Running(infra, wiring, RpcClient(infra.nc, timeout=10), name)
    await server.stop()
    for hook in wiring.on_stop:
        await hook()
    await infra.nc.drain()
    await infra.mongo.drop_database(infra.db.name)
    await infra.mongo.close()


async def test_status_counts_the_configured_anchor(running: Running) -> None:
    assert await running.call(PKI.STATUS, {}) == {"trust_anchors": 1, "intermediates": 0}


async def test_usb_signature_over_rpc_is_single_use(running: Running, sandbox: RunningSandbox) -> None:
    issued = sandbox.issue(key_type="rsa")
    flow = {"flow_id": str(uuid.uuid4()), "purpose": "registration"}
    challenge = await running.call(PKI.CHALLENGE, flow)
    signature = sign(issued["private_key_pem"], base64.b64decode(challenge["challenge"]))
    payload = {**flow, "certificate": issued["certificate_pem"], "chain": [issued["chain_pem"]],
               "signature": signature}
    # Two parallel verifications of one challenge: exactly one succeeds.
    answers = await asyncio.gather(running.call(PKI.VERIFY_SIGNATURE, payload),
                                   running.call(PKI.VERIFY_SIGNATURE, payload),
                                   return_exceptions=True)
    accepted = [a for a in answers if isinstance(a, dict)]
    refused = [a for a in answers if isinstance(a, RemoteError)]
    assert len(accepted) == 1 and len(refused) == 1
    assert refused[0].code == "challenge_expired"
    assert accepted[0]["identity"]["id_number"] == "001090001234"
    outbox = [doc async for doc in running.infra.db[OUTBOX].find({})]
    subjects = sorted(doc["subject"] for doc in outbox)
    assert subjects == ["dvcid.events.CertificateRejected", "dvcid.events.CertificateValidated"]


async def test_bad_input_is_a_validation_error(running: Running) -> None:
    with pytest.raises(RemoteError) as err:
        await running.call(PKI.VERIFY_SIGNATURE, {"flow_id": "x", "purpose": "login",
                                                "certificate": "garbage", "signature": "!!"})
    assert err.value.code == "validation_error"


async def test_mongo_consume_is_atomic_and_checks_expiry(running: Running) -> None:
    challenges = MongoChallenges(running.infra.db)
    now = datetime.now(UTC)
    challenge = new_challenge("login", "flow-m", now)
    await challenges.put(challenge)
    assert await challenges.consume("login", "flow-m", b"other nonce", now) is None
    late = now + timedelta(minutes=5)
    assert await challenges.consume("login", "flow-m", challenge.nonce, late) is None
    used = await challenges.consume("login", "flow-m", challenge.nonce, now)
    assert used is not None and used.used_at is not None
    assert await challenges.consume("login", "flow-m", challenge.nonce, now) is None
