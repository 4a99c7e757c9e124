"""The generic metrics (shared/metrics.py): bounded labels, the runtime's counting in the
consumer and the outbox relay, the committed-facts observers and the /metrics server."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared import metrics
from shared.bus import Consumer, ConsumerRunner
from shared.events import Envelope
from shared.outbox import OutboxRelay
from shared.storage import OUTBOX

REGISTRY = metrics.REGISTRY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_rpc_error_code_outside_the_known_set_is_counted_as_other() -> None:
    before_other = value("dvcid_rpc_requests_total", endpoint="t_start", outcome="other")
    before_known = value("dvcid_rpc_requests_total", endpoint="t_start", outcome="flow_state")
    metrics.rpc_served("t_start", "a_code_nobody_declared", 0.01)
    metrics.rpc_served("t_start", "flow_state", 0.02)
    metrics.rpc_served("t_start", "ok", 0.03)
    assert value("dvcid_rpc_requests_total", endpoint="t_start", outcome="other") \
        == before_other + 1
    assert value("dvcid_rpc_requests_total", endpoint="t_start", outcome="flow_state") \
        == before_known + 1
    assert value("dvcid_rpc_requests_total", endpoint="t_start", outcome="ok") >= 1
    assert value("dvcid_rpc_request_duration_seconds_count", endpoint="t_start") >= 3
    assert value("dvcid_rpc_requests_total", endpoint="t_start",
                 outcome="a_code_nobody_declared") == 0


def test_published_events_are_counted_by_their_type_and_unknown_types_as_other() -> None:
    before = value("dvcid_events_published_total", type="OtpSent")
    before_other = value("dvcid_events_published_total", type="other")
    metrics.event_published("dvcid.events.OtpSent")
    metrics.event_published("dvcid.events.Nonsense")
    assert value("dvcid_events_published_total", type="OtpSent") == before + 1
    assert value("dvcid_events_published_total", type="other") == before_other + 1


def test_observers_see_committed_events_and_a_failing_one_breaks_nothing() -> None:
    seen: list[str] = []

    def broken(_events: list[Envelope]) -> None:
        raise RuntimeError("a bug in a metric")

    metrics.on_commit(broken)
    metrics.on_commit(lambda events: seen.extend(e.type for e in events))
    event = Envelope(type="OtpSent", correlation_id="f", payload={})
    metrics.committed([event])
    assert seen == ["OtpSent"]


# --- the consumer ---------------------------------------------------------------------------

@dataclass
class FakeMetadata:
    num_delivered: int
    num_pending: int


@dataclass
class FakeMsg:
    data: bytes
    metadata: FakeMetadata
    subject: str = "dvcid.events.OtpSent"
    headers: dict[str, str] | None = None
    done: list[str] = field(default_factory=list)

    async def ack(self) -> None:
        self.done.append("ack")

    async def nak(self, delay: float) -> None:
        self.done.append("nak")

    async def term(self) -> None:
        self.done.append("term")


class FakeJetStream:
    def __init__(self) -> None:
        self.published: list[str] = []

    async def publish(self, subject: str, data: bytes, headers: dict[str, str]) -> None:
        self.published.append(subject)


def _message(delivered: int) -> FakeMsg:
    envelope = Envelope(type="OtpSent", correlation_id="flow", payload={})
    return FakeMsg(envelope.model_dump_json().encode(), FakeMetadata(delivered, 7))


async def test_a_consumer_counts_each_outcome_redeliveries_and_dead_letters() -> None:
    durable = "test-metrics-consumer"
    failures = iter([None, RuntimeError("boom"), RuntimeError("boom")])

    async def handler(_event: Envelope) -> None:
        if (failure := next(failures)) is not None:
            raise failure

    runner = ConsumerRunner(FakeJetStream(), Consumer(durable, ["OtpSent"], handler,  # type: ignore[arg-type]
                                                      max_deliver=2))
    for delivered in (1, 1, 2):  # ok; fails (retry); fails again at max_deliver (dead letter)
        msg = _message(delivered)
        metrics.message_received(durable, msg.metadata.num_delivered, msg.metadata.num_pending)
        await runner._handle(msg)  # type: ignore[arg-type]
    for outcome in ("ok", "retry", "dead_letter"):
        assert value("dvcid_events_handled_total", durable=durable, outcome=outcome) == 1
    assert value("dvcid_consumer_redeliveries_total", durable=durable) == 1
    assert value("dvcid_dead_letters_total", durable=durable) == 1
    assert value("dvcid_consumer_pending_messages", durable=durable) == 7


async def test_a_malformed_envelope_is_a_dead_letter_too() -> None:
    durable = "test-metrics-malformed"

    async def handler(_event: Envelope) -> None:
        raise AssertionError("never called")

    runner = ConsumerRunner(FakeJetStream(), Consumer(durable, ["OtpSent"], handler))  # type: ignore[arg-type]
    await runner._handle(FakeMsg(b"not json", FakeMetadata(1, 0)))  # type: ignore[arg-type]
    assert value("dvcid_dead_letters_total", durable=durable) == 1


# --- the outbox relay -----------------------------------------------------------------------

class FakeOutbox:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    async def count_documents(self, _query: dict[str, Any]) -> int:
        return len(self.docs)

    async def find_one(self, _query: dict[str, Any], _projection: dict[str, Any],
                       sort: list[tuple[str, int]]) -> dict[str, Any] | None:
        return min(self.docs, key=lambda d: d["seq"]) if self.docs else None


async def test_the_relay_measures_how_many_events_wait_and_the_oldest_age() -> None:
    now_us = int(time.time() * 1_000_000)
    outbox = FakeOutbox([{"_id": "a", "seq": now_us - 90_000_000}, {"_id": "b", "seq": now_us}])
    relay = OutboxRelay({OUTBOX: outbox}, FakeJetStream())  # type: ignore[arg-type]
    await relay._measure_backlog()
    assert value("dvcid_outbox_pending_events") == 2
    assert 89 <= value("dvcid_outbox_oldest_event_age_seconds") < 100
    outbox.docs.clear()
    relay._last_measure = 0.0
    await relay._measure_backlog()
    assert value("dvcid_outbox_pending_events") == 0
    assert value("dvcid_outbox_oldest_event_age_seconds") == 0


# --- the server -----------------------------------------------------------------------------

def test_metrics_are_off_without_a_port_and_served_with_one() -> None:
    assert metrics.serve_metrics(None) is False
    port = free_port()
    assert metrics.serve_metrics(port, "127.0.0.1") is True
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    assert "dvcid_outbox_pending_events" in response.text
    assert "dvcid_rpc_requests_total" in response.text
