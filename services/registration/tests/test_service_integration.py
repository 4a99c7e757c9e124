"""The whole service as ``serve()`` runs it, on real NATS and Mongo: RPC endpoints through
``nats.micro``, the outbox relay, the consumers, the telco adapter on a local HTTP server and
a stand-in otp service."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from services.registration.config import RegistrationSettings
from services.registration.entrypoints import wire
from services.registration.tests.telco_server import TelcoServer, telco_server
from shared.bus import Consumer, ConsumerRunner, publish
from shared.events import AccountActivated, OtpVerified, new_event
from shared.rpc import RemoteError, RpcClient, RpcServer
from shared.runtime import Infrastructure, connect_infrastructure
from shared.storage import ensure_indexes

pytestmark = pytest.mark.integration

API_KEY = "service-test-telco-key"
CODE = "135790"
PASSWORD = "Tr@ng-Sen-2026!"


@pytest.fixture
def telco() -> Iterator[TelcoServer]:
    with telco_server(API_KEY) as server:
        yield server


@pytest.fixture
async def service(test_servers: Any, telco: TelcoServer) -> AsyncIterator[Infrastructure]:
    settings = RegistrationSettings(
        nats_url=test_servers.nats_url, mongo_url=test_servers.mongo_url,
        db_prefix=f"t{uuid.uuid4().hex[:8]}", telco_url=telco.url, telco_api_key=API_KEY,
        # The test identity: this connection also plays otp (a stand-in) and the caller.
        nats_nkey_seed_file=test_servers.nats_seed("test"))
    infra = await connect_infrastructure(settings, "registration")
    wiring = await wire(infra)
    await ensure_indexes(infra.db, wiring.indexes)
    infra.relay.start()
    # Durable names made unique: the JetStream server is shared by the whole test session.
    suffix = uuid.uuid4().hex[:6]
    runners = [ConsumerRunner(infra.js, Consumer(f"{c.durable}-{suffix}", c.event_types,
                                                 c.handler)) for c in wiring.consumers]
    for runner in runners:
        await runner.start()
    rpc = RpcServer(infra.nc, "registration", "0.0.0-test", "registration under test")
    for name, handler in wiring.endpoints.items():
        rpc.endpoint(name, handler)
    await rpc.start()
    otp = RpcServer(infra.nc, "otp", "0.0.0-test", "stand-in otp service")
    otp.endpoint("verify", _verify)
    otp.endpoint("issue", _issue)
    otp.endpoint("policy", _policy)
    await otp.start()
    # profile takes the password at the last step (stage_credential, issue 11).
    profile = RpcServer(infra.nc, "profile", "0.0.0-test", "stand-in profile service")
    profile.endpoint("stage_credential", _stage_credential)
    await profile.start()
    yield infra
    await profile.stop()
    await otp.stop()
    await rpc.stop()
    for runner in runners:
        await runner.stop()
    await infra.relay.stop()
    for hook in wiring.on_stop:
        await hook()
    await infra.nc.drain()
    await infra.mongo.drop_database(infra.db.name)
    await infra.mongo.close()


class _OtpInvalid(Exception):
    def to_error(self) -> dict[str, Any]:
        return {"code": "otp_invalid", "detail": "Mã OTP không đúng."}


async def _verify(payload: dict[str, Any]) -> dict[str, Any]:
    if payload["code"] != CODE:
        raise _OtpInvalid()
    return {"verified": True, "phone": "+84912345678", "challenge_id": "c"}


async def _issue(payload: dict[str, Any]) -> dict[str, Any]:
    return {"challenge_id": "c", "phone_masked": "+8491****678",
            "expires_at": "2030-01-01T00:05:00Z", "resend_available_at": "2030-01-01T00:01:00Z"}


async def _policy(payload: dict[str, Any]) -> dict[str, Any]:
    return {"code_digits": 6, "code_lifetime_seconds": 300, "resend_interval_seconds": 60,
            "max_attempts": 5}


async def _stage_credential(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["password"] == PASSWORD
    return {"credential_id": f"cred-{payload['registration_id']}"}


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def _profile_activates(infra: Infrastructure, registration_id: str) -> None:
    """What profile does once it has committed the account: AccountActivated."""
    async def completed() -> bool:
        doc = await infra.db.registrations.find_one({"_id": registration_id})
        return doc is not None and doc["status"] == "completed"

    await _eventually(completed)
    doc = await infra.db.registrations.find_one({"_id": registration_id})
    assert doc is not None
    await publish(infra.js, new_event(
        AccountActivated(account_id=doc["account_id"], registration_id=registration_id),
        correlation_id=registration_id))


def _person(phone: str, serial: str) -> dict[str, Any]:
    return {"subject_type": "citizen", "method": "mobile", "id_number": f"079185{serial}",
            "full_name": "Lê Thị Bích", "birth_date": "1985-01-01", "sex": "female",
            "phone": phone}


async def test_a_citizen_registers_through_the_rpc_endpoints(
        service: Infrastructure, telco: TelcoServer) -> None:
    person = _person("0912 345 678", "000001")
    telco.add("+84912345678", person["id_number"], "LÊ THỊ BÍCH", person["birth_date"])
    client = RpcClient(service.nc, timeout=5)

    flow = await client.call("registration", "start", person)
    auth = {"id": flow["id"], "flow_token": flow["flow_token"]}
    assert flow["phone_masked"] == "+8491****678"
    with pytest.raises(RemoteError) as err:
        await client.call("registration", "submit_otp", {**auth, "code": "000000"})
    assert err.value.code == "otp_invalid"
    assert await client.call("registration", "resend_otp", auth) == {
        "status": "otp_sent", "resend_available_at": "2030-01-01T00:01:00Z"}
    assert await client.call("registration", "submit_otp", {**auth, "code": CODE}) == {
        "status": "awaiting_password"}
    # profile's part of the saga (read-your-writes): once the flow is committed, the account
    # is announced usable; the password step answers completed only after that.
    activation = asyncio.create_task(_profile_activates(service, flow["id"]))
    done = await client.call("registration", "set_password",
                             {**auth, "password": PASSWORD, "password_confirmation": PASSWORD})
    await activation
    assert done["status"] == "completed" and done["level"] == 2

    # The relay published AccountCreated and RegistrationCompleted (the stream is shared with
    # other tests, so count this service's own outbox rather than processed events).
    async def published() -> bool:
        return await service.db.outbox.count_documents({}) == 0

    await _eventually(published)
    view = await client.call("registration", "get", auth)
    assert view["status"] == "completed" and view["account_id"] == done["account_id"]

    with pytest.raises(RemoteError) as err:
        await client.call("registration", "start", person)
    assert err.value.code == "account_exists"


async def test_rpc_errors_follow_the_messaging_contract(service: Infrastructure) -> None:
    client = RpcClient(service.nc, timeout=5)
    with pytest.raises(RemoteError) as err:
        await client.call("registration", "start", {**_person("0912345678", "000002"),
                                                     "method": "fax"})
    assert err.value.error["code"] == "validation_error"
    # Refused by the start's contract (shared.contracts.base.ContractViolation): the fields
    # are named, their values never echoed.
    assert "method" in {field["name"] for field in err.value.error["fields"]}
    with pytest.raises(RemoteError) as err:
        await client.call("registration", "start", _person("0912345678", "000002"))
    assert err.value.code == "subscriber_mismatch"  # the registry does not know the number
    with pytest.raises(RemoteError) as err:
        await client.call("registration", "get", {"id": "x", "flow_token": "y"})
    assert err.value.code == "not_found"


async def test_otp_verified_on_the_bus_moves_the_flow(service: Infrastructure,
                                                      telco: TelcoServer) -> None:
    person = _person("0987654321", "000003")
    telco.add("+84987654321", person["id_number"], person["full_name"], person["birth_date"])
    client = RpcClient(service.nc, timeout=5)
    flow = await client.call("registration", "start", person)
    auth = {"id": flow["id"], "flow_token": flow["flow_token"]}
    await publish(service.js, new_event(
        OtpVerified(flow_id=flow["id"], purpose="registration", phone="+84987654321",
                    challenge_id="c"), correlation_id=flow["id"]))

    async def moved() -> bool:
        view = await client.call("registration", "get", auth)
        return bool(view["status"] == "awaiting_password")

    await _eventually(moved)
