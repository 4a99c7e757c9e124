"""The service as wired for the runtime, on real NATS and MongoDB: AccountCreated consumed from
JetStream, then a whole login over request/reply, with the otp service played by a stand-in
that answers on its own subject (the real otp client runs)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.profile.adapters.mongo import SESSIONS
from services.profile.adapters.otp import RpcOtpService
from services.profile.bootstrap import bootstrap, ports_from
from services.profile.config import ProfileSettings
from services.profile.entrypoints import wiring_for
from services.profile.handlers.accounts import ACCOUNT_CREATED_CONSUMER
from services.profile.tests.test_handlers import PASSWORD, account_created
from shared.bus import Consumer, ConsumerRunner, publish
from shared.contracts import profile as P
from shared.contracts.base import Rpc
from shared.events import EVENTS_STREAM
from shared.rpc import RemoteError, RpcClient, RpcServer
from shared.runtime import Infrastructure, connect_infrastructure
from shared.storage import OUTBOX, ensure_indexes

pytestmark = pytest.mark.integration

CODE = "246810"


class OtpStandIn:
    """Answers issue and verify like the otp service; refuses any other code."""

    def __init__(self) -> None:
        self.issued: list[dict[str, Any]] = []

    async def issue(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.issued.append(payload)
        return {"challenge_id": "c1", "phone_masked": "+8491****567",
                "expires_at": "2026-01-01T00:05:00+00:00",
                "resend_available_at": "2026-01-01T00:01:00+00:00"}

    async def verify(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload["code"] != CODE:
            raise _Refused({"code": "otp_invalid", "detail": "Mã OTP không đúng."})
        return {"verified": True, "phone": "+84912345567", "challenge_id": "c1"}


class _Refused(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["code"])
        self.error = error

    def to_error(self) -> dict[str, Any]:
        return self.error


@pytest.fixture
async def infra(test_servers: Any) -> AsyncIterator[Infrastructure]:
    settings = ProfileSettings(nats_url=test_servers.nats_url, mongo_url=test_servers.mongo_url,
                               db_prefix=f"t{uuid.uuid4().hex[:8]}",
                               nats_nkey_seed_file=test_servers.nats_seed("test"))
    infra = await connect_infrastructure(settings, "profile")
    yield infra
    await infra.relay.stop()
    # close, not drain: a stopped ConsumerRunner leaves its pull subscription behind and drain
    # waits for it until nats' drain_timeout (30 s) — see the report on shared/bus.py.
    await infra.nc.close()
    await infra.mongo.drop_database(infra.db.name)
    await infra.mongo.close()


async def _eventually(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_an_account_from_the_bus_logs_in_over_rpc(infra: Infrastructure) -> None:
    # Unique names: the test servers are shared with every other test of the session.
    suffix = uuid.uuid4().hex[:6]
    otp_name, profile_name = f"otp{suffix}", f"profile{suffix}"
    assert isinstance(infra.settings, ProfileSettings)
    otp_client = RpcOtpService(RpcClient(infra.nc, timeout=5), service=otp_name)
    ports, telco = ports_from(infra, infra.settings)
    wiring = wiring_for(bootstrap(infra.settings, dataclasses.replace(ports, otp=otp_client)))
    await ensure_indexes(infra.db, wiring.indexes)
    infra.relay.start()

    stand_in = OtpStandIn()
    otp_server = RpcServer(infra.nc, otp_name, "0.0.1", "otp stand-in")
    otp_server.endpoint("issue", stand_in.issue)
    otp_server.endpoint("verify", stand_in.verify)
    await otp_server.start()
    server = RpcServer(infra.nc, profile_name, "0.1.0", "profile under test")
    for name, handler in wiring.endpoints.items():
        server.endpoint(name, handler)
    await server.start()
    [consumer] = [c for c in wiring.consumers if c.durable == ACCOUNT_CREATED_CONSUMER]
    runner = ConsumerRunner(infra.js, Consumer(f"test-{suffix}", consumer.event_types,
                                               consumer.handler))
    await runner.start()
    try:
        account_id = f"acc-{suffix}"
        id_number = f"001099{uuid.uuid4().int % 10**6:06d}"
        event = account_created(account_id=account_id, id_number=id_number)
        await publish(infra.js, event)

        async def account_exists() -> bool:
            return await infra.db.accounts.count_documents({"_id": account_id}) == 1

        await _eventually(account_exists)
        rpc = RpcClient(infra.nc, timeout=5)

        async def ask(endpoint: Rpc[Any, Any], request: dict[str, Any]) -> dict[str, Any]:
            # The profile under test answers under its own name, with profile's contracts.
            under_test = dataclasses.replace(endpoint, service=profile_name)
            answer = await rpc.ask(under_test, endpoint.request.model_validate(request))
            return answer.wire()

        with pytest.raises(RemoteError) as wrong:
            await ask(P.LOGIN_START, {"method": "password", "username": id_number,
                                      "password": "wrong"})
        assert wrong.value.error == {"code": "invalid_credentials",
                                     "detail": "Tên đăng nhập hoặc mật khẩu không đúng."}

        flow = await ask(P.LOGIN_START, {"method": "password", "username": id_number,
                                         "password": PASSWORD, "ip": "203.0.113.9"})
        assert flow["phone_masked"] == "+8491****567"
        assert stand_in.issued == [{"flow_id": flow["id"], "purpose": "login",
                                    "phone": "+84912345567"}]
        ref = {"id": flow["id"], "flow_token": flow["flow_token"]}
        with pytest.raises(RemoteError) as refused:
            await ask(P.LOGIN_SUBMIT_OTP, {**ref, "code": "000000"})
        assert refused.value.error == {"code": "otp_invalid", "detail": "Mã OTP không đúng."}

        login = await ask(P.LOGIN_SUBMIT_OTP, {**ref, "code": CODE})
        assert login["status"] == "completed" and login["level"] == 2
        token = {"session_token": login["session_token"]}
        who = await ask(P.AUTHENTICATE, token)
        assert (who["account_id"], who["session_id"]) == (account_id, login["session_id"])
        me = await ask(P.ME, token)
        assert me["identity"]["id_number"] == id_number
        # What the OpenID Provider may release (issue 15): by account id, the phone unmasked.
        claims = await ask(P.OIDC_CLAIMS, {"account_id": account_id})
        assert claims["identity"]["id_number"] == id_number and claims["phone"] == "+84912345567"
        assert claims["subject_type"] == "citizen" and claims["level"] == 2
        with pytest.raises(RemoteError) as unknown:
            await ask(P.OIDC_CLAIMS, {"account_id": "acc-nobody"})
        assert unknown.value.code == "unauthenticated"
        # Whether the session is alive (the OpenID Provider, before a refresh): by id.
        live = {"account_id": account_id, "session_id": login["session_id"]}
        assert await ask(P.OIDC_SESSION_ALIVE, live) == {"alive": True}
        assert await ask(P.OIDC_SESSION_ALIVE, live | {"account_id": "acc-nobody"}) == {
            "alive": False}
        assert await ask(P.LOGOUT, token) == {}
        assert await ask(P.OIDC_SESSION_ALIVE, live) == {"alive": False}
        with pytest.raises(RemoteError) as ended:
            await ask(P.AUTHENTICATE, token)
        assert ended.value.code == "unauthenticated"

        session = await infra.db[SESSIONS].find_one({"_id": login["session_id"]})
        assert session is not None and login["session_token"] not in str(session)

        async def outbox_drained() -> bool:
            return await infra.db[OUTBOX].count_documents({}) == 0

        await _eventually(outbox_drained)  # LoginFailed x2, LoginSucceeded, SessionRevoked
    finally:
        await runner.stop()
        await infra.js.delete_consumer(EVENTS_STREAM, f"test-{suffix}")
        await server.stop()
        await otp_server.stop()
        await telco.close()
