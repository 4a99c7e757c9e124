"""Tracing (shared/tracing.py): off without an endpoint, W3C context in and out of NATS
headers and stored documents, the attribute rule, trace ids in log lines, and the spans of the
outbox relay and the event consumer (with fakes of JetStream and the collection)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
from opentelemetry.trace import SpanKind, StatusCode

from shared import crypto, tracing
from shared.bus import Consumer, ConsumerRunner
from shared.events import RegistrationRequested, new_event
from shared.logging import configure_logging
from shared.outbox import OutboxRelay
from shared.storage import OUTBOX, _outbox_document
from shared.tests.spans import by_name, recorded_spans

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


@pytest.fixture
def no_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracing.ENDPOINT_ENV, raising=False)
    monkeypatch.delenv(tracing.TRACES_ENDPOINT_ENV, raising=False)


def _hex_trace(span: Any) -> str:
    return format(span.get_span_context().trace_id, "032x")


# --- configuration -------------------------------------------------------------------------

def test_without_an_endpoint_nothing_is_traced_or_injected(no_endpoint: None) -> None:
    assert tracing.configure_tracing("otp") is False
    assert not tracing.enabled()
    with tracing.span("anything", SpanKind.SERVER) as current:
        assert not current.is_recording()
        assert tracing.inject({"Nats-Msg-Id": "e1"}) == {"Nats-Msg-Id": "e1"}
        assert tracing.current_trace_fields() == {}
    # An incoming context is not needed without a provider: nothing to parent on.
    assert tracing.extract({"traceparent": TRACEPARENT}) is None


def test_the_endpoint_names_the_traces_url_and_configuring_twice_keeps_one_provider(
        no_endpoint: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tracing.ENDPOINT_ENV, "http://collector:4318/")
    assert tracing._traces_endpoint() == "http://collector:4318/v1/traces"
    monkeypatch.setenv(tracing.TRACES_ENDPOINT_ENV, "http://other:4318/custom")
    assert tracing._traces_endpoint() == "http://other:4318/custom"
    try:
        assert tracing.configure_tracing("pki") is True
        provider = tracing._provider
        assert provider is not None
        assert provider.resource.attributes["service.name"] == "pki"
        assert tracing.configure_tracing("pki") is True
        assert tracing._provider is provider
    finally:
        tracing.shutdown_tracing()  # nothing recorded: nothing to send
    assert not tracing.enabled()


def test_shutdown_leaves_a_provider_a_test_installed_alone() -> None:
    with recorded_spans():
        tracing.shutdown_tracing()
        assert tracing.enabled()


# --- the attribute rule ----------------------------------------------------------------------

@pytest.mark.parametrize("key", ["phone", "user.email", "http.url", "url.path", "client.address",
                                 "user_agent.original", "dvcid.payload"])
def test_an_attribute_key_outside_the_allowed_set_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="not allowed"), tracing.span("step", attributes={key: "x"}):
        pass
    with recorded_spans(), tracing.span("step") as current, pytest.raises(ValueError):
        tracing.set_attributes(current, {key: "x"})


def test_named_attributes_stand_for_their_dotted_keys() -> None:
    with recorded_spans() as spans, tracing.span("registration.submit_otp", dvcid_flow_id="f-1",
                                                 dvcid_step="submit_otp"):
        pass
    assert dict(by_name(spans)["registration.submit_otp"].attributes or {}) == {
        "dvcid.flow_id": "f-1", "dvcid.step": "submit_otp"}


def test_an_escaping_error_sets_error_status_with_its_code_never_its_text() -> None:
    class Refused(Exception):
        code = "subscriber_mismatch"

    with recorded_spans() as spans:
        with pytest.raises(Refused), tracing.span("telco.lookup", SpanKind.CLIENT):
            raise Refused("0912345678 belongs to Nguyễn Văn An")
        with pytest.raises(KeyError), tracing.span("other"):
            raise KeyError("001090012345")
    found = by_name(spans)
    refused, other = found["telco.lookup"], found["other"]
    assert refused.status.status_code is StatusCode.ERROR
    assert refused.status.description == "subscriber_mismatch"
    assert other.status.description == "KeyError"
    # No exception event: its message (the data it choked on) would ride along.
    assert not refused.events and not other.events


# --- propagation -----------------------------------------------------------------------------

def test_a_context_injected_into_headers_parents_the_span_on_the_other_side() -> None:
    with recorded_spans() as spans:
        with tracing.span("otp.verify", SpanKind.CLIENT) as client:
            headers = tracing.inject({"Nats-Msg-Id": "e1"})
        assert headers["Nats-Msg-Id"] == "e1"
        assert headers["traceparent"].split("-")[1] == _hex_trace(client)
        with tracing.span("otp.verify served", SpanKind.SERVER,
                          parent=tracing.extract(headers)):
            pass
    server = by_name(spans)["otp.verify served"]
    assert server.parent is not None
    assert server.parent.span_id == client.get_span_context().span_id
    assert server.context.trace_id == client.get_span_context().trace_id


@pytest.mark.parametrize("headers", [None, {}, {"Nats-Msg-Id": "e1"},
                                     {"traceparent": "not-a-traceparent"},
                                     {"traceparent": f"00-{'0' * 32}-{PARENT_ID}-01"}])
def test_headers_without_a_valid_context_give_none(headers: dict[str, str] | None) -> None:
    with recorded_spans():
        assert tracing.extract(headers) is None


def test_a_stored_traceparent_resumes_the_trace_later() -> None:
    with recorded_spans() as spans:
        with tracing.span("registration.start", SpanKind.SERVER) as start:
            stored = tracing.current_trace_fields()
        assert set(stored) == {"traceparent"}
        with tracing.span("later", parent=tracing.context_from(stored["traceparent"]),
                          links=tracing.current_links()):
            pass
    later = by_name(spans)["later"]
    assert later.parent is not None and later.parent.span_id == start.get_span_context().span_id
    assert later.context.trace_id == start.get_span_context().trace_id
    assert tracing.context_from(None) is None


def test_the_outbox_document_keeps_the_context_of_its_commit() -> None:
    event = new_event(RegistrationRequested(registration_id="r1", method="mobile",
                                            subject_type="citizen", phone="+84912345678"),
                      correlation_id="r1")
    assert "traceparent" not in _outbox_document(event)  # tracing off
    with recorded_spans(), tracing.span("registration.start") as current:
        doc = _outbox_document(event)
    assert doc["traceparent"].split("-")[1] == _hex_trace(current)


# --- log lines -------------------------------------------------------------------------------

def test_log_lines_carry_the_current_trace_and_span_ids() -> None:
    assert tracing.add_trace_ids(None, "info", {"event": "x"}) == {"event": "x"}
    with recorded_spans(), tracing.span("work") as current:
        fields = tracing.add_trace_ids(None, "info", {"event": "x"})
    assert fields["trace_id"] == _hex_trace(current)
    assert fields["span_id"] == format(current.get_span_context().span_id, "016x")


def test_a_production_log_line_carries_the_ids_unmasked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", env="production")
    try:
        with recorded_spans(), tracing.span("work") as current:
            structlog.get_logger().info("step done", id_number="001090123456")
    finally:
        structlog.reset_defaults()
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    # Added after the masking: a hex id with a run of digits is not taken for a number.
    assert record["trace_id"] == _hex_trace(current)
    assert record["span_id"] == format(current.get_span_context().span_id, "016x")
    assert record["id_number"] != "001090123456"


# --- the relay and the consumer --------------------------------------------------------------

class FakeOutbox:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    def find(self, _query: Any) -> Any:
        docs = list(self.docs)

        class Cursor:
            def sort(self, _keys: Any) -> Any:
                return self

            async def _all(self) -> AsyncIterator[dict[str, Any]]:
                for doc in docs:
                    yield doc

            def limit(self, _n: int) -> AsyncIterator[dict[str, Any]]:
                return self._all()

        return Cursor()

    async def delete_one(self, query: dict[str, Any]) -> None:
        self.docs = [d for d in self.docs if d["_id"] != query["_id"]]


class RecordingJetStream:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, str]]] = []

    async def publish(self, subject: str, data: bytes, headers: dict[str, str]) -> None:
        self.published.append((subject, headers))


async def test_the_relay_publishes_in_the_stored_trace_and_old_documents_still_publish() -> None:
    js = RecordingJetStream()
    outbox = FakeOutbox([
        {"_id": "e1", "seq": 1, "subject": "dvcid.events.RegistrationRequested", "data": "{}",
         "traceparent": TRACEPARENT},
        {"_id": "e0", "seq": 2, "subject": "dvcid.events.OtpVerified", "data": "{}"},
    ])
    relay = OutboxRelay({OUTBOX: outbox}, js)  # type: ignore[arg-type]
    with recorded_spans() as spans:
        assert await relay.publish_pending() == 2
    (_, traced), (_, old) = js.published
    publish = by_name(spans)["publish RegistrationRequested"]
    assert publish.kind is SpanKind.PRODUCER
    assert format(publish.context.trace_id, "032x") == TRACE_ID
    assert publish.parent is not None and format(publish.parent.span_id, "016x") == PARENT_ID
    # The message carries the PRODUCER span: the consumer's span is its child.
    assert traced["traceparent"] == (
        f"00-{TRACE_ID}-{format(publish.context.span_id, '016x')}-01")
    assert traced["Nats-Msg-Id"] == "e1"
    assert dict(publish.attributes or {}) == {
        "messaging.system": "nats", "messaging.operation.type": "publish",
        "messaging.destination.name": "dvcid.events.RegistrationRequested",
        "messaging.message.id": "e1", "dvcid.event_type": "RegistrationRequested",
        "dvcid.event_id": "e1"}
    # A document from before tracing: published, in a trace of its own.
    assert old["Nats-Msg-Id"] == "e0"
    assert by_name(spans)["publish OtpVerified"].parent is None


class FakeMsg:
    def __init__(self, data: bytes, headers: dict[str, str] | None, delivered: int) -> None:
        self.data, self.headers, self.subject = data, headers, "dvcid.events.RegistrationRequested"
        self.metadata = SimpleNamespace(num_delivered=delivered)
        self.outcome = ""

    async def ack(self) -> None:
        self.outcome = "ack"

    async def nak(self, delay: float) -> None:
        self.outcome = "nak"

    async def term(self) -> None:
        self.outcome = "term"


def _message(delivered: int = 1) -> FakeMsg:
    event = new_event(RegistrationRequested(registration_id="r1", method="mobile",
                                            subject_type="citizen", phone="+84912345678"),
                      correlation_id="r1")
    return FakeMsg(event.model_dump_json().encode(), {"traceparent": TRACEPARENT}, delivered)


async def test_the_consumer_handles_each_message_in_a_child_span_of_its_publisher() -> None:
    seen: list[str] = []

    async def handler(_event: Any) -> None:
        seen.append(tracing.current_trace_fields()["traceparent"].split("-")[1])

    runner = ConsumerRunner(None, Consumer("otp-registration-requested",  # type: ignore[arg-type]
                                           ["RegistrationRequested"], handler))
    msg = _message(delivered=2)
    with recorded_spans() as spans:
        await runner._handle(msg)  # type: ignore[arg-type]
    consume = by_name(spans)["consume RegistrationRequested"]
    assert msg.outcome == "ack" and seen == [TRACE_ID]
    assert consume.kind is SpanKind.CONSUMER
    assert consume.parent is not None and format(consume.parent.span_id, "016x") == PARENT_ID
    attributes = dict(consume.attributes or {})
    assert attributes["dvcid.durable"] == "otp-registration-requested"
    assert attributes["dvcid.event_type"] == "RegistrationRequested"
    assert attributes["dvcid.delivery_attempt"] == 2
    assert attributes["dvcid.outcome"] == "ok"
    assert attributes["dvcid.event_id"] == attributes["messaging.message.id"]


async def test_a_failing_handler_leaves_an_error_span_with_the_retry() -> None:
    class Unavailable(Exception):
        code = "external_unavailable"

    async def handler(_event: Any) -> None:
        await asyncio.sleep(0)
        raise Unavailable("the registry said 0912345678 is unknown")

    runner = ConsumerRunner(None, Consumer("otp-registration-requested",  # type: ignore[arg-type]
                                           ["RegistrationRequested"], handler))
    msg = _message()
    with recorded_spans() as spans:
        await runner._handle(msg)  # type: ignore[arg-type]
    consume = by_name(spans)["consume RegistrationRequested"]
    assert msg.outcome == "nak"
    assert consume.status.status_code is StatusCode.ERROR
    assert consume.status.description == "external_unavailable"
    assert dict(consume.attributes or {})["dvcid.outcome"] == "retry"


async def test_a_dead_letter_keeps_the_trace_of_its_last_delivery() -> None:
    async def handler(_event: Any) -> None:
        raise ValueError("cannot handle 001090012345")

    js = RecordingJetStream()
    msg = _message(delivered=2)
    runner = ConsumerRunner(js, Consumer("otp-registration-requested",  # type: ignore[arg-type]
                                         ["RegistrationRequested"], handler, max_deliver=2))
    with recorded_spans() as spans:
        await runner._handle(msg)  # type: ignore[arg-type]
    consume = by_name(spans)["consume RegistrationRequested"]
    assert dict(consume.attributes or {})["dvcid.outcome"] == "dead_letter"
    assert consume.status.description == "ValueError"
    ((subject, headers),) = js.published
    assert subject == "dvcid.dlq.otp-registration-requested"
    assert headers["traceparent"].split("-")[1:3] == [
        TRACE_ID, format(consume.context.span_id, "016x")]


async def test_a_password_hash_is_a_span_that_includes_the_wait_for_the_pool() -> None:
    with recorded_spans() as spans:
        await crypto.hash_password("Tr@ng-Sen-2026!")
    (hashed,) = spans.get_finished_spans()
    assert hashed.name == "argon2.hash"
    assert dict(hashed.attributes or {}) == {"dvcid.count": 0}  # nothing queued before it
