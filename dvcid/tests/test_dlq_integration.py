"""``dvcid admin dlq`` on a real NATS server (issue 11): a failed event's dead letter carries
an error code and nothing else in its headers; the operator lists it, sees it with personal
data masked, replays it to its consumer (then it is gone from the DLQ) or discards it; the
streams' retention is the configured number of days."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from dvcid import dlq
from shared.bus import (
    CONSUMER_HEADER,
    ERROR_HEADER,
    SUBJECT_HEADER,
    Consumer,
    ConsumerRunner,
    ensure_streams,
    publish,
)
from shared.events import DLQ_STREAM, EVENTS_STREAM, RegistrationRequested, new_event
from shared.runtime import Infrastructure, connect_infrastructure
from shared.settings import CommonSettings

pytestmark = pytest.mark.integration

PHONE = "+84912345678"
DAY = 24 * 3600


@pytest.fixture
async def infra(test_servers: Any) -> AsyncIterator[Infrastructure]:
    settings = CommonSettings(nats_url=test_servers.nats_url, mongo_url=test_servers.mongo_url,
                              db_prefix=f"t{uuid.uuid4().hex[:8]}",
                              nats_nkey_seed_file=test_servers.nats_seed("test"))
    infra = await connect_infrastructure(settings, "dlq")
    yield infra
    await infra.nc.drain()
    await infra.mongo.close()


async def _eventually(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := await predicate()):
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)
    return found


async def test_retention_is_the_configured_number_of_days(infra: Infrastructure) -> None:
    try:
        await ensure_streams(infra.js, 1, events_max_age_days=3, dlq_max_age_days=5)
        assert (await infra.js.stream_info(EVENTS_STREAM)).config.max_age == 3 * DAY
        assert (await infra.js.stream_info(DLQ_STREAM)).config.max_age == 5 * DAY
    finally:
        await ensure_streams(infra.js, 1)  # the defaults: 7 and 14 days
    assert (await infra.js.stream_info(EVENTS_STREAM)).config.max_age == 7 * DAY
    assert (await infra.js.stream_info(DLQ_STREAM)).config.max_age == 14 * DAY


async def test_a_dead_letter_is_listed_masked_replayed_to_its_consumer(
        infra: Infrastructure) -> None:
    durable = f"test-dlq-{uuid.uuid4().hex[:8]}"
    rid = str(uuid.uuid4())
    event = new_event(RegistrationRequested(registration_id=rid, method="mobile",
                                            subject_type="citizen", phone=PHONE),
                      correlation_id=rid)
    fixed = False
    handled: list[str] = []

    async def handler(delivered: Any) -> None:
        if delivered.id != event.id:
            return  # the stream is shared with other tests
        if not fixed:
            # A driver's message quoting the data it choked on: must not reach a header.
            raise ValueError(f"E11000 duplicate key {PHONE}")
        handled.append(delivered.id)

    runner = ConsumerRunner(infra.js, Consumer(durable, ["RegistrationRequested"], handler,
                                               max_deliver=1))
    await runner.start()
    try:
        await publish(infra.js, event)

        async def listed() -> list[dlq.DeadLetter]:
            return await dlq.dead_letters(infra.js, durable)

        [letter] = await _eventually(listed)
        assert letter.error == "ValueError" and letter.consumer == durable
        assert letter.original_subject == "dvcid.events.RegistrationRequested"
        raw = await infra.js.get_msg(DLQ_STREAM, letter.seq)
        assert set(raw.headers or {}) == {ERROR_HEADER, CONSUMER_HEADER, SUBJECT_HEADER}
        assert "912345678" not in json.dumps(raw.headers)
        # list: ids and codes; show: the event with the phone masked.
        assert letter.summary()["event_id"] == event.id
        assert "912345678" not in json.dumps(letter.summary())
        shown = letter.masked()
        assert shown["event"]["payload"]["registration_id"] == rid
        assert "912345678" not in json.dumps(shown)

        fixed = True  # the operator fixed the cause; the event goes back to its consumer
        assert await dlq.replay(infra.js, [letter]) == 1

        async def reprocessed() -> bool:
            return handled == [event.id]

        await _eventually(reprocessed)
        assert await dlq.dead_letters(infra.js, durable) == []
    finally:
        await runner.stop()


async def test_a_dead_letter_is_discarded_and_an_unknown_one_refused(
        infra: Infrastructure) -> None:
    durable = f"test-dlq-{uuid.uuid4().hex[:8]}"
    ack = await infra.js.publish(f"dvcid.dlq.{durable}", b"{}",
                                 headers={ERROR_HEADER: "internal", CONSUMER_HEADER: durable})
    [letter] = await dlq.dead_letters(infra.js, durable)
    assert letter.seq == ack.seq
    assert await dlq.discard(infra.js, [ack.seq]) == 1
    assert await dlq.dead_letters(infra.js, durable) == []
    with pytest.raises(dlq.NoSuchDeadLetter):
        await dlq.dead_letter(infra.js, ack.seq)
