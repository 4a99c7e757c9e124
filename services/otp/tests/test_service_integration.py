"""The wired service on real NATS and MongoDB, its SMS going through the Twilio SDK to a local
Twilio-compatible endpoint: RPC issue/verify and the RegistrationRequested consumer."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from services.otp.config import OtpSettings
from services.otp.entrypoints import wire
from services.otp.tests.twilio_stub import TwilioStub
from shared.bus import Consumer, ConsumerRunner
from shared.contracts import otp as OTP
from shared.contracts.base import Rpc
from shared.events import Envelope, RegistrationRequested, new_event
from shared.rpc import RemoteError, RpcClient, RpcServer
from shared.runtime import Infrastructure, Wiring, connect_infrastructure
from shared.storage import ensure_indexes

pytestmark = pytest.mark.integration


@dataclass
class Running:
    infra: Infrastructure
    wiring: Wiring
    stub: TwilioStub
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
async def running(test_servers: Any) -> AsyncIterator[Running]:
    stub = await TwilioStub().start()
    settings = OtpSettings(nats_url=test_servers.nats_url, mongo_url=test_servers.mongo_url,
                           db_prefix=f"t{uuid.uuid4().hex[:8]}",
                           nats_nkey_seed_file=test_servers.nats_seed("test"), twilio_api_base=stub.base,
                           twilio_from="DVCQG")
    infra = await connect_infrastructure(settings, "otp")
    wiring = await wire(infra)
    await ensure_indexes(infra.db, wiring.indexes)
    infra.relay.start()
    # A name of its own, so parallel test sessions never answer each other's requests.
    name = f"otp{uuid.uuid4().hex[:6]}"
    server = RpcServer(infra.nc, name, "0.1.0", "otp under test")
    for endpoint, handler in wiring.endpoints.items():
        server.endpoint(endpoint, handler)
    await server.start()
    yield Running(infra, wiring, stub, RpcClient(infra.nc, timeout=10), name)
    await server.stop()
    await infra.relay.stop()
    for hook in wiring.on_stop:
        await hook()
    await infra.nc.drain()
    await infra.mongo.drop_database(infra.db.name)
    await infra.mongo.close()
    await stub.stop()


def code_in(body: str) -> str:
    match = re.search(r"\b(\d{6})\b", body)
    assert match
    return match.group(1)


async def test_issue_and_verify_over_nats(running: Running) -> None:
    phone = "+84911000001"
    issued = await running.call(OTP.ISSUE, {"flow_id": "f1", "purpose": "login",
                                            "phone": phone})
    assert issued["phone_masked"] == "+8491****001"
    [body] = running.stub.bodies_to(phone)
    assert "5 phut" in body
    assert running.stub.received[0].form["From"] == "DVCQG"
    with pytest.raises(RemoteError) as err:
        await running.call(OTP.ISSUE, {"flow_id": "f1", "purpose": "login", "phone": phone})
    assert err.value.code == "otp_resend_too_soon" and err.value.error["retry_after"] > 0
    with pytest.raises(RemoteError) as err:
        await running.call(OTP.VERIFY, {"flow_id": "f1", "purpose": "login", "code": "12",
                                      "phone": phone})
    assert err.value.code == "validation_error"
    verified = await running.call(OTP.VERIFY, {"flow_id": "f1", "purpose": "login",
                                             "code": code_in(body), "phone": phone})
    assert verified == {"verified": True, "phone": phone,
                        "challenge_id": issued["challenge_id"]}


async def test_a_refused_sms_answers_sms_failed(running: Running) -> None:
    running.stub.script = [(400, 21211)]
    with pytest.raises(RemoteError) as err:
        await running.call(OTP.ISSUE, {"flow_id": "f2", "purpose": "login",
                                     "phone": "+84911000002"})
    assert err.value.code == "sms_failed"
    assert err.value.error["detail"].startswith("Không gửi được")


async def test_registration_requested_sends_one_sms_even_when_redelivered(
        running: Running) -> None:
    phone = "+84911000003"
    rid = str(uuid.uuid4())
    event = new_event(RegistrationRequested(registration_id=rid, method="mobile",
                                            subject_type="citizen", phone=phone),
                      correlation_id=rid)
    [consumer] = running.wiring.consumers
    seen: list[str] = []

    async def only_this_test(delivered: Envelope) -> None:
        # The stream is shared by the whole test session: handle this test's event only.
        if delivered.correlation_id == rid:
            seen.append(delivered.id)
            await consumer.handler(delivered)

    runner = ConsumerRunner(running.infra.js, Consumer(f"test-{uuid.uuid4().hex[:8]}",
                                                       consumer.event_types, only_this_test))
    await runner.start()
    data = event.model_dump_json().encode()
    await running.infra.js.publish("dvcid.events.RegistrationRequested", data,
                                   headers={"Nats-Msg-Id": event.id})
    # A second copy with another message id: JetStream cannot de-duplicate it, we must.
    await running.infra.js.publish("dvcid.events.RegistrationRequested", data,
                                   headers={"Nats-Msg-Id": f"again-{event.id}"})
    for _ in range(200):
        if len(seen) >= 2:
            break
        await asyncio.sleep(0.05)
    await runner.stop()
    assert seen == [event.id, event.id]
    [body] = running.stub.bodies_to(phone)
    verified = await running.call(OTP.VERIFY, {"flow_id": rid, "purpose": "registration",
                                             "code": code_in(body), "phone": phone})
    assert verified["verified"] is True
