"""``dvcid dev --trace``: the OTLP receiver fed by the real SDK exporter over HTTP, and the tree
it prints (order, links, orphans, a trace printed again when it continues)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from dvcid import cli
from dvcid.devstack import SERVICES, DevStack, Ports
from dvcid.traceview import (
    Span,
    SpanLink,
    TracePrinter,
    TraceReceiver,
    TraceStore,
    exporter_env,
    is_probe,
    render_trace,
)


@pytest.fixture
def receiver() -> Iterator[TraceReceiver]:
    receiver = TraceReceiver().start()
    yield receiver
    receiver.stop()


def _provider(receiver: TraceReceiver, service: str,
              compression: Compression = Compression.NoCompression) -> TracerProvider:
    """A process's tracer as the services configure it, exporting to the receiver at once."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces",
                                compression=compression)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def test_the_receiver_keeps_what_the_sdk_exporter_sends_by_trace(receiver: TraceReceiver) -> None:
    gateway = _provider(receiver, "gateway").get_tracer("t")
    registration = _provider(receiver, "registration", Compression.Gzip).get_tracer("t")
    with gateway.start_as_current_span("POST /api/v1/registrations", kind=SpanKind.SERVER,
                                       attributes={"http.response.status_code": 201}) as root:
        carrier: dict[str, str] = {}
        inject(carrier)  # the traceparent header the services send over NATS
    with registration.start_as_current_span("registration.start", context=extract(carrier),
                                            kind=SpanKind.SERVER) as served:
        served.set_status(Status(StatusCode.ERROR, "subscriber_mismatch"))
        served.add_event("retry", {"dvcid.delivery_attempt": 2})

    trace_id = format(root.get_span_context().trace_id, "032x")
    spans = receiver.store.trace(trace_id)
    assert {(s.service, s.name) for s in spans} == {
        ("gateway", "POST /api/v1/registrations"), ("registration", "registration.start")}
    by_name = {s.name: s for s in spans}
    top, child = by_name["POST /api/v1/registrations"], by_name["registration.start"]
    assert top.parent_id is None and top.kind == "server"
    assert top.attributes == {"http.response.status_code": 201}
    assert child.parent_id == top.span_id == format(root.get_span_context().span_id, "016x")
    assert child.error and child.status_message == "subscriber_mismatch"
    assert child.events[0].name == "retry" and child.events[0].attributes == {
        "dvcid.delivery_attempt": 2}
    assert 0 <= child.duration_ms < 5000
    assert len(receiver.store.spans()) == 2


def test_links_arrive_with_the_span(receiver: TraceReceiver) -> None:
    tracer = _provider(receiver, "registration").get_tracer("t")
    with tracer.start_as_current_span("POST /otp") as request:
        asked_by = request.get_span_context()
    with tracer.start_as_current_span("registration.submit_otp",
                                      links=[Link(asked_by, {"dvcid.step": "submit_otp"})]):
        pass
    [step] = [s for s in receiver.store.spans() if s.name == "registration.submit_otp"]
    assert step.links == (SpanLink(format(asked_by.trace_id, "032x"),
                                   format(asked_by.span_id, "016x"), {"dvcid.step": "submit_otp"}),)


def test_the_receiver_reads_otlp_json_and_refuses_garbage(receiver: TraceReceiver) -> None:
    body = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "otp"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "parentSpanId": "eee19b7ec3c1b173", "name": "sms.send", "kind": 3,
            "startTimeUnixNano": "1000000", "endTimeUnixNano": "3500000",
            "attributes": [{"key": "peer.service", "value": {"stringValue": "twilio"}}]}]}]}]}
    answer = httpx.post(f"{receiver.endpoint}/v1/traces", content=gzip.compress(
        json.dumps(body).encode()), headers={"content-type": "application/json",
                                             "content-encoding": "gzip"})
    assert answer.status_code == 200
    [span] = receiver.store.trace("5b8efff798038103d269b633813fc60c")
    assert (span.service, span.name, span.kind, span.parent_id) == (
        "otp", "sms.send", "client", "eee19b7ec3c1b173")
    assert span.duration_ms == 2.5 and span.attributes == {"peer.service": "twilio"}

    garbage = httpx.post(f"{receiver.endpoint}/v1/traces", content=b"\xff\x00not protobuf",
                         headers={"content-type": "application/x-protobuf"})
    assert garbage.status_code == 400
    assert httpx.post(f"{receiver.endpoint}/v1/metrics", content=b"").status_code == 404
    assert len(receiver.store.spans()) == 1


def test_dvcid_dev_trace_points_every_service_process_at_the_receiver(tmp_path: Path) -> None:
    stack = DevStack(tmp_path, Ports.free(), env=exporter_env("http://127.0.0.1:4318"))
    traced = {managed.name: managed.env for managed in stack._plan()
              if managed.name in {*SERVICES, "gateway"}}
    assert set(traced) == {*SERVICES, "gateway"}
    for env in traced.values():
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
        assert env["OTEL_BSP_SCHEDULE_DELAY"] == "200"  # a tree shows as the flow ends


def test_the_trace_option_reaches_run_dev(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    asked: list[bool] = []

    def fake_run_dev(home: Path, replicas: int, trace: bool) -> int:
        asked.append(trace)
        return 0

    monkeypatch.setattr(cli, "run_dev", fake_run_dev)
    assert cli.main(["dev", "--home", str(tmp_path), "--trace"]) == 0
    assert cli.main(["dev", "--home", str(tmp_path)]) == 0
    assert asked == [True, False]


# -- the tree ---------------------------------------------------------------------------------
TRACE = "0af7651916cd43dd8448eb211c80319c"
OTHER = "1bf7651916cd43dd8448eb211c80319d"


def _span(span_id: str, name: str, service: str, start_ms: float, end_ms: float,
          parent: str | None = None, trace_id: str = TRACE, **extra: object) -> Span:
    return Span(trace_id=trace_id, span_id=span_id, parent_id=parent, name=name,
                service=service, kind="internal", start_ns=int(start_ms * 1e6),
                end_ns=int(end_ms * 1e6), error=bool(extra.pop("error", False)),
                status_message=str(extra.pop("status_message", "")),
                attributes=dict(extra.pop("attributes", {})),  # type: ignore[call-overload]
                links=tuple(extra.pop("links", ())))  # type: ignore[arg-type]


def _registration() -> list[Span]:
    """Out of order, as batches from several processes arrive."""
    return [
        _span("c3", "consume RegistrationRequested", "otp", 30, 80, "b2",
              attributes={"dvcid.durable": "otp-registration-requested",
                          "dvcid.outcome": "ok"}),
        _span("b2", "registration.start", "registration", 5, 40, "a1"),
        _span("d4", "sms.send", "otp", 40, 75, "c3",
              attributes={"peer.service": "twilio", "dvcid.provider_answer": "queued"}),
        _span("a1", "POST /api/v1/registrations", "gateway", 0, 45,
              attributes={"http.response.status_code": 201, "http.route": "/x"}),
        _span("b3", "publish RegistrationRequested", "registration", 20, 22, "b2"),
    ]


def test_a_trace_prints_as_a_tree_in_start_order() -> None:
    text = render_trace(_registration())
    lines = text.splitlines()
    assert lines[0].startswith(f"trace {TRACE} · 5 spans · gateway, registration, otp · 80.0 ms")
    names = [line.split("[")[0].rstrip() for line in lines[1:]]
    assert names == [
        "POST /api/v1/registrations",
        "└─ registration.start",
        "   ├─ publish RegistrationRequested",
        "   └─ consume RegistrationRequested",
        "      └─ sms.send",
    ]
    assert "[gateway]" in lines[1] and "45.0 ms" in lines[1] and "status=201" in lines[1]
    assert "/x" not in text  # only the attributes that say what happened
    assert "durable=otp-registration-requested" in lines[4] and "outcome=ok" in lines[4]
    assert "peer=twilio" in lines[5] and "provider_answer=queued" in lines[5]
    # the durations line up in one column
    assert len({line.index(" ms") for line in lines[1:]}) == 1


def test_errors_are_marked_with_their_code() -> None:
    spans = [_span("a1", "POST /api/v1/registrations/{registration_id}/otp", "gateway", 0, 9),
             _span("b2", "registration.submit_otp", "registration", 1, 8, "a1", error=True,
                   status_message="otp_incorrect")]
    lines = render_trace(spans).splitlines()
    assert "✗ ERROR: otp_incorrect" in lines[2] and "ERROR" not in lines[1]


def test_a_link_names_the_request_that_asked() -> None:
    request = [_span("e1", "POST /api/v1/registrations/{registration_id}/otp", "gateway", 100,
                     130, trace_id=OTHER),
               _span("e2", "registration.submit_otp", "registration", 101, 129, "e1",
                     trace_id=OTHER)]
    step = _span("f1", "submit_otp", "registration", 102, 128, "b2",
                 links=[SpanLink(OTHER, "e2", {})])
    spans = [*_registration(), step]
    known = {span.span_id: span for span in request}
    text = render_trace(spans, known, continued=True)
    assert text.startswith(f"… continued: trace {TRACE} · 6 spans")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "└─ submit_otp" in line)
    assert lines[at].startswith("   └─ submit_otp")
    assert lines[at + 1] == (
        "         ↖ linked from: POST /api/v1/registrations/{registration_id}/otp [gateway] "
        f"› registration.submit_otp (trace {OTHER[:8]}…)")
    # a link to a span never received still shows its ids
    lonely = render_trace([_span("f1", "submit_otp", "registration", 0, 1,
                                 links=[SpanLink(OTHER, "99", {})])])
    assert f"↖ linked from: span 99 of trace {OTHER} (not received)" in lonely


def test_orphans_show_at_the_top_with_their_missing_parent() -> None:
    spans = [span for span in _registration() if span.span_id != "b2"]  # not arrived yet
    text = render_trace(spans)
    lines = text.splitlines()
    assert "· 3 roots" in lines[0]
    names = [line.split("[")[0].rstrip() for line in lines[1:] if "[" in line]
    assert names == ["POST /api/v1/registrations", "publish RegistrationRequested",
                     "consume RegistrationRequested", "└─ sms.send"]
    assert "(its parent span b2 was not received)" in text
    assert text.count("not received") == 2


def test_probe_traces_are_not_worth_printing() -> None:
    assert is_probe([_span("a1", "GET /readyz", "gateway", 0, 1),
                     _span("a2", "profile.health", "profile", 0, 1, "a1")])
    assert not is_probe(_registration())


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_trace_prints_when_quiet_and_again_when_it_continues() -> None:
    clock = _Clock()
    store = TraceStore(clock=clock)
    printed: list[str] = []
    printer = TracePrinter(store, say=printed.append, quiet=1.5)
    first, *rest = _registration()
    store.add([first])
    clock.now = 1.0
    store.add(rest)
    clock.now = 2.0
    assert printer.print_finished() == 0  # the last batch came 1 s ago: maybe more to come
    clock.now = 2.6
    assert printer.print_finished() == 1
    assert printed[0].strip().startswith(f"trace {TRACE} · 5 spans")
    assert printer.print_finished() == 0  # nothing new
    store.add([_span("g1", "consume OtpVerified", "registration", 500, 510, "d4")])
    clock.now = 5.0
    assert printer.print_finished() == 1
    assert printed[1].strip().startswith(f"… continued: trace {TRACE} · 6 spans")
    store.add([_span("h1", "GET /readyz", "gateway", 0, 1, trace_id=OTHER)])
    clock.now = 9.0
    assert printer.print_finished() == 0  # a probe
    assert len(printed) == 2


def test_traces_finished_together_print_in_the_order_they_began() -> None:
    clock = _Clock()
    store = TraceStore(clock=clock)
    printed: list[str] = []
    store.add([_span("b1", "POST /api/v1/registrations", "gateway", 50, 60, trace_id=OTHER)])
    store.add([_span("a1", "POST /api/v1/dev/{path:path}", "gateway", 10, 20)])
    clock.now = 2.0
    assert TracePrinter(store, say=printed.append).print_finished() == 2
    assert [text.strip().split(" · ")[0] for text in printed] == [f"trace {TRACE}", f"trace {OTHER}"]


def test_a_bounded_store_forgets_the_least_recently_active_traces() -> None:
    clock = _Clock()
    store = TraceStore(max_traces=2, clock=clock)
    for index, trace_id in enumerate(("a" * 32, "b" * 32, "c" * 32)):
        clock.now = index
        store.add([_span(f"{index}", "x", "gateway", 0, 1, trace_id=trace_id)])
    assert store.trace("a" * 32) == [] and len(store.spans()) == 2


def test_wait_for_answers_once_the_spans_are_there(receiver: TraceReceiver) -> None:
    tracer = _provider(receiver, "pki").get_tracer("t")
    with pytest.raises(TimeoutError):
        receiver.store.wait_for(lambda store: store.spans(), timeout=0.3)
    with tracer.start_as_current_span("pki.challenge"):
        pass
    found = receiver.store.wait_for(
        lambda store: [s for s in store.spans() if s.name == "pki.challenge"], timeout=5)
    assert found[0].service == "pki"
    assert trace.get_current_span().get_span_context().is_valid is False
