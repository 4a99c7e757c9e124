"""The bus trusts no one: every forbidden act is refused by the NATS server's permission map
(dvcid/nats_auth.py), under the same map `dvcid dev` and the e2e stack run. Each test connects
as one identity (its own seed, its own inbox prefix) and tries what that identity must not do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from shared.bus import connect_nats, ensure_streams
from shared.events import DLQ_STREAM, EVENTS_STREAM, RegistrationRequested, new_event
from shared.rpc import RpcServer

pytestmark = pytest.mark.integration

class Refusals:
    """Collects the server's permission violations a connection reports (asynchronously)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.arrived = asyncio.Event()

    async def __call__(self, exc: Exception) -> None:
        if "permissions violation" in str(exc).lower():
            self.seen.append(str(exc))
            self.arrived.set()

    async def wait(self, timeout: float = 3.0) -> str:
        """The last refusal, lower-cased (as nats-py reports it)."""
        await asyncio.wait_for(self.arrived.wait(), timeout)
        return self.seen[-1].lower()


@pytest.fixture(autouse=True)
def _under_the_map(test_servers: Any) -> None:
    if test_servers.keyring is None:
        pytest.skip("DVCID_TEST_NATS_URL names a server without dvcid's permission map")


@pytest.fixture
async def connect(test_servers: Any) -> AsyncIterator[Callable[..., Any]]:
    opened: list[NATS] = []

    async def as_identity(identity: str, refusals: Refusals | None = None) -> NATS:
        nc = await connect_nats(test_servers.nats_url, name=f"bus-test-{identity}",
                                seed_file=test_servers.nats_seed(identity), identity=identity,
                                error_cb=refusals)
        opened.append(nc)
        return nc

    yield as_identity
    for nc in opened:
        if nc.is_connected:
            await nc.close()


async def test_anonymous_connect_is_refused(test_servers: Any) -> None:
    errors: list[str] = []

    async def record(exc: Exception) -> None:
        errors.append(str(exc).lower())

    with pytest.raises((NatsError, OSError)):
        await nats.connect(test_servers.nats_url, connect_timeout=2, max_reconnect_attempts=0,
                           allow_reconnect=False, error_cb=record)
    assert any("authorization violation" in error for error in errors), errors


async def test_a_wrong_key_is_refused(test_servers: Any, tmp_path: Any) -> None:
    import nkeys

    stranger = tmp_path / "stranger.nk"
    stranger.write_bytes(nkeys.encode_seed(b"\x07" * 32, nkeys.PREFIX_BYTE_USER))
    with pytest.raises((NatsError, OSError)):
        await nats.connect(test_servers.nats_url, nkeys_seed=str(stranger), connect_timeout=2,
                           max_reconnect_attempts=0, allow_reconnect=False)


async def test_gateway_cannot_publish_account_created(connect: Any) -> None:
    refusals = Refusals()
    gateway = await connect("gateway", refusals)
    js = gateway.jetstream()
    event = new_event(RegistrationRequested(registration_id=str(uuid.uuid4()), method="mobile",
                                            subject_type="citizen", phone="+84912345678"),
                      correlation_id="x")
    with pytest.raises((NatsTimeout, NoRespondersError)):
        await js.publish("dvcid.events.AccountCreated", event.model_dump_json().encode(),
                         timeout=1.5)
    assert "dvcid.events.accountcreated" in await refusals.wait()


async def test_only_registration_publishes_registration_events(connect: Any) -> None:
    registration = await connect("registration")
    await ensure_streams(registration.jetstream())
    event = new_event(RegistrationRequested(registration_id=str(uuid.uuid4()), method="mobile",
                                            subject_type="citizen", phone="+84912345678"),
                      correlation_id="x")
    ack = await registration.jetstream().publish(
        "dvcid.events.RegistrationRequested", event.model_dump_json().encode(), timeout=3)
    assert ack.stream == EVENTS_STREAM
    refusals = Refusals()
    profile = await connect("profile", refusals)
    with pytest.raises((NatsTimeout, NoRespondersError)):
        await profile.jetstream().publish("dvcid.events.RegistrationRequested", b"{}",
                                          timeout=1.5)
    assert "dvcid.events.registrationrequested" in await refusals.wait()


async def test_a_service_cannot_subscribe_to_another_services_requests(connect: Any) -> None:
    refusals = Refusals()
    otp = await connect("otp", refusals)
    await otp.subscribe("dvcid.profile.login_start", queue="profile")
    assert "dvcid.profile.login_start" in await refusals.wait()


async def test_nobody_reads_anothers_replies(connect: Any) -> None:
    refusals = Refusals()
    gateway = await connect("gateway", refusals)
    await gateway.subscribe("_INBOX.profile.>")
    assert "_inbox.profile.>" in await refusals.wait()


@pytest.mark.parametrize("identity", ["gateway", "registration", "otp", "pki"])
async def test_only_the_operator_calls_admin_create_agent(connect: Any, identity: str) -> None:
    profile = await connect("profile")
    calls: list[bytes] = []

    async def answer(msg: Any) -> None:
        calls.append(msg.data)
        await msg.respond(b'{"ok": true, "data": {}}')

    await profile.subscribe("dvcid.profile.admin_create_agent", queue="profile", cb=answer)
    await profile.flush()
    refusals = Refusals()
    intruder = await connect(identity, refusals)
    with pytest.raises((NatsTimeout, NoRespondersError)):
        await intruder.request("dvcid.profile.admin_create_agent", b"{}", timeout=1.0)
    assert "dvcid.profile.admin_create_agent" in await refusals.wait()
    assert calls == []
    operator = await connect("operator")
    reply = await operator.request("dvcid.profile.admin_create_agent", b"{}", timeout=3)
    assert reply.data == b'{"ok": true, "data": {}}'
    assert len(calls) == 1


@pytest.mark.parametrize("identity", ["profile", "registration", "gateway"])
async def test_a_service_cannot_read_the_dead_letter_stream(connect: Any, identity: str) -> None:
    operator = await connect("operator")
    await ensure_streams(operator.jetstream())
    refusals = Refusals()
    reader = await connect(identity, refusals)
    with pytest.raises((NatsTimeout, NoRespondersError, NatsError)):
        sub = await reader.jetstream().pull_subscribe("dvcid.dlq.>", durable=None,
                                                      stream=DLQ_STREAM)
        await sub.fetch(1, timeout=1.0)
    assert DLQ_STREAM.lower() in await refusals.wait()
    # The operator reads it (dvcid admin dlq ...): its consumer is created, and a fetch finds
    # the dead letters other tests left, or none; either way nothing is refused.
    assert (await operator.jetstream().stream_info(DLQ_STREAM)).config.name == DLQ_STREAM
    sub = await operator.jetstream().pull_subscribe("dvcid.dlq.>", durable=None,
                                                    stream=DLQ_STREAM)
    with contextlib.suppress(NatsTimeout):
        await sub.fetch(1, timeout=0.5)
    await sub.unsubscribe()


async def test_the_operator_lists_and_reads_stats_of_services_as_nats_micro_does(
        connect: Any) -> None:
    """`nats micro ls|stats` (--nkey operator.nk --inbox-prefix _INBOX.operator) in Python."""
    profile = await connect("profile")
    server = RpcServer(profile, "profile", "0.0.0-test", "profile under test")

    async def echo(payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    server.endpoint("me", echo)
    await server.start()
    try:
        operator = await connect("operator")
        pong = json.loads((await operator.request("$SRV.PING.profile", b"", timeout=3)).data)
        assert pong["name"] == "profile"
        stats = json.loads((await operator.request("$SRV.STATS.profile", b"", timeout=3)).data)
        assert [e["subject"] for e in stats["endpoints"]] == ["dvcid.profile.me"]
        refusals = Refusals()
        gateway = await connect("gateway", refusals)
        with pytest.raises((NatsTimeout, NoRespondersError)):
            await gateway.request("$SRV.STATS.profile", b"", timeout=1.0)
        assert "$srv.stats.profile" in await refusals.wait()
    finally:
        await server.stop()


async def test_a_service_cannot_widen_the_event_stream_to_capture_requests(
        connect: Any) -> None:
    """Else profile could store `dvcid.registration.set_password` (a password) in DVCID_EVENTS
    and read it through a consumer of its own."""
    operator = await connect("operator")
    await ensure_streams(operator.jetstream())
    refusals = Refusals()
    profile = await connect("profile", refusals)
    js = profile.jetstream()
    config = (await js.stream_info(EVENTS_STREAM)).config
    config.subjects = ["dvcid.>"]
    with pytest.raises((NatsTimeout, NoRespondersError)):
        await js.update_stream(config)
    assert f"$js.api.stream.update.{EVENTS_STREAM.lower()}" in await refusals.wait()
    assert (await js.stream_info(EVENTS_STREAM)).config.subjects == ["dvcid.events.>"]


@pytest.mark.parametrize(("caller", "subject", "allowed"), [
    ("gateway", "dvcid.profile.login_start", True),
    ("gateway", "dvcid.registration.start", True),
    ("gateway", "dvcid.otp.issue", False),  # codes are issued by registration and profile
    ("gateway", "dvcid.pki.verify_signature", False),
    ("gateway", "dvcid.profile.stage_credential", False),  # registration's, not the web's
    ("registration", "dvcid.profile.stage_credential", True),
    ("registration", "dvcid.profile.login_start", False),
    ("profile", "dvcid.otp.send_notice", True),
    ("otp", "dvcid.pki.challenge", False),
    ("pki", "dvcid.otp.issue", False),
    # The OpenID Provider (issue 15): the gateway asks for tokens, never for raw claims;
    # oidc reads the claims and nothing else of profile; clients are the operator's.
    ("gateway", "dvcid.oidc.token", True),
    ("gateway", "dvcid.profile.oidc_claims", False),
    ("gateway", "dvcid.oidc.admin_create_client", False),
    ("oidc", "dvcid.profile.oidc_claims", True),
    ("oidc", "dvcid.profile.me", False),
    ("registration", "dvcid.profile.oidc_claims", False),
    # ... and whether a session is alive (a refresh), which no one else asks.
    ("oidc", "dvcid.profile.oidc_session_alive", True),
    ("gateway", "dvcid.profile.oidc_session_alive", False),
    ("gateway", "dvcid.oidc.par", True),
    ("operator", "dvcid.oidc.admin_rotate_keys", True),
    ("profile", "dvcid.oidc.admin_rotate_keys", False),
])
async def test_each_caller_requests_only_what_its_work_needs(
        connect: Any, caller: str, subject: str, allowed: bool) -> None:
    responder = await connect("test")  # a stand-in answering anything: only the caller is tested

    async def answer(msg: Any) -> None:
        await msg.respond(b"{}")

    await responder.subscribe(subject, cb=answer)
    await responder.flush()
    refusals = Refusals()
    client = await connect(caller, refusals)
    if allowed:
        assert (await client.request(subject, b"{}", timeout=3)).data == b"{}"
        return
    with pytest.raises((NatsTimeout, NoRespondersError)):
        await client.request(subject, b"{}", timeout=1.0)
    assert subject in await refusals.wait()
