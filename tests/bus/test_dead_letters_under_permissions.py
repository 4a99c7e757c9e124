"""A service's own consumer works under its identity end to end: it fetches, acks and, for a
message that keeps failing, dead-letters it to DVCID_DLQ, which only the operator reads.

On a server of its own (the shared test server's durables belong to other tests)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeout

from dvcid import nats_auth, servers
from dvcid.nats_auth import Keyring
from shared.bus import Consumer, ConsumerRunner, connect_nats, ensure_streams
from shared.events import DLQ_STREAM, Envelope, OtpFailed, new_event

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Keyring]]:
    home: Path = tmp_path_factory.mktemp("nats")
    keyring = Keyring(home / "nats-keys")
    command = servers.nats_command(home / "nats", servers.free_port(), servers.free_port(),
                                   keyring)
    proc = servers.start(command, home / "nats.log")
    try:
        yield command.url, keyring
    finally:
        servers.stop(proc)


@pytest.fixture
async def clients(server: tuple[str, Keyring]) -> AsyncIterator[dict[str, NATS]]:
    url, keyring = server
    opened = {identity: await connect_nats(url, name=f"dlq-{identity}", identity=identity,
                                           seed_file=keyring.seed_file(identity))
              for identity in ("otp", "registration", "operator")}
    yield opened
    for nc in opened.values():
        await nc.close()


async def test_a_failing_event_is_dead_lettered_by_its_consumer_and_read_by_the_operator(
        clients: dict[str, NATS]) -> None:
    otp, registration, operator = (clients[n] for n in ("otp", "registration", "operator"))
    await ensure_streams(registration.jetstream())
    handled: list[str] = []

    async def fails(event: Envelope) -> None:
        handled.append(event.id)
        raise RuntimeError("handler broke")

    durable = nats_auth.CONSUMES["registration"][2]  # registration-otp-failed
    runner = ConsumerRunner(registration.jetstream(),
                            Consumer(durable, ["OtpFailed"], fails, max_deliver=1), ack_wait=2)
    await runner.start()
    try:
        event = new_event(OtpFailed(flow_id=str(uuid.uuid4()), purpose="registration",
                                    reason="sms_failed"), correlation_id="dlq-test")
        # Published by its owner, otp, as its outbox relay does.
        await otp.jetstream().publish(
            "dvcid.events.OtpFailed", event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": event.id}, timeout=3)
        sub = await operator.jetstream().pull_subscribe(
            f"dvcid.dlq.{durable}", durable=None, stream=DLQ_STREAM)
        deadline = asyncio.get_running_loop().time() + 15
        while True:
            try:
                (letter,) = await sub.fetch(1, timeout=1.0)
                break
            except NatsTimeout:
                assert asyncio.get_running_loop().time() < deadline, "no dead letter"
        assert Envelope.model_validate_json(letter.data).id == event.id
        assert handled == [event.id]
        assert runner.problem() is None  # the consumer itself is healthy
    finally:
        await runner.stop()
