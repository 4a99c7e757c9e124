"""Traces in the terminal without a collector: ``dvcid dev --trace``.

A tiny OTLP/HTTP receiver (``POST /v1/traces``, protobuf as the SDK's exporter sends it, or
OTLP/JSON) runs in a thread of the ``dvcid dev`` process and keeps the spans by trace id. A
trace is *finished* when no span of it arrived for a short quiet time (the exporters send in
batches); it is then printed as a tree: per span the process, the span name, its duration, an
error mark, a few safe attributes and the requests it is linked to. When more spans of the
same trace arrive later (the next step of the same registration) the whole tree is printed
again, marked as continued.

The end-to-end tests run the same receiver (tests/conftest.py) to read what every process
exported.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2

# How long a trace must be quiet before it is printed: the services' exporters send every
# 200 ms in dev (OTEL_BSP_SCHEDULE_DELAY), a hop over the bus takes a few ms more.
QUIET_SECONDS = 1.5
# Attributes worth a look on a tree line (every attribute is free of personal data; these are
# the ones that say what happened). Shown under their short names.
SHOWN_ATTRIBUTES = {
    "dvcid.step": "step",
    "dvcid.outcome": "outcome",
    "http.response.status_code": "status",
    "dvcid.event_type": "event",
    "dvcid.durable": "durable",
    "messaging.consumer.group.name": "durable",
    "dvcid.delivery_attempt": "attempt",
    "peer.service": "peer",
    "dvcid.provider_answer": "provider_answer",
    "dvcid.count": "count",
    "dvcid.error_code": "error_code",
}
# Traces nobody wants to read: the readiness and metrics probes.
PROBE_ROUTES = ("/healthz", "/readyz", "/livez", "/metrics", "/favicon.ico")


@dataclass(frozen=True)
class SpanLink:
    trace_id: str
    span_id: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class SpanEvent:
    name: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class Span:
    """One received span, ids as lower-case hex (as in ``traceparent`` and the logs)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    service: str
    kind: str
    start_ns: int
    end_ns: int
    error: bool
    status_message: str
    attributes: Mapping[str, Any]
    events: tuple[SpanEvent, ...] = ()
    links: tuple[SpanLink, ...] = ()

    @property
    def duration_ms(self) -> float:
        return max(self.end_ns - self.start_ns, 0) / 1e6

    def texts(self) -> Iterable[str]:
        """Every text a reader of the span sees: name, status, every attribute value (of the
        span, its events and its links). The personal-data test looks through these."""
        yield self.name
        yield self.status_message
        for attributes in (self.attributes, *(e.attributes for e in self.events),
                           *(link.attributes for link in self.links)):
            for key, value in attributes.items():
                yield key
                yield str(value)
        yield from (event.name for event in self.events)


# -- decoding OTLP ---------------------------------------------------------------------------
_KINDS = {trace_pb2.Span.SPAN_KIND_SERVER: "server", trace_pb2.Span.SPAN_KIND_CLIENT: "client",
          trace_pb2.Span.SPAN_KIND_PRODUCER: "producer",
          trace_pb2.Span.SPAN_KIND_CONSUMER: "consumer"}


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which) if which else None


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def _span(span: trace_pb2.Span, service: str) -> Span:
    return Span(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=span.parent_span_id.hex() or None,
        name=span.name,
        service=service,
        kind=_KINDS.get(span.kind, "internal"),
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano,
        error=span.status.code == trace_pb2.Status.STATUS_CODE_ERROR,
        status_message=span.status.message,
        attributes=_attributes(span.attributes),
        events=tuple(SpanEvent(e.name, _attributes(e.attributes)) for e in span.events),
        links=tuple(SpanLink(link.trace_id.hex(), link.span_id.hex(),
                             _attributes(link.attributes)) for link in span.links),
    )


def decode_spans(request: ExportTraceServiceRequest) -> list[Span]:
    spans: list[Span] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name", "?"))
        for scope_spans in resource_spans.scope_spans:
            spans.extend(_span(span, service) for span in scope_spans.spans)
    return spans


# OTLP/JSON writes the ids as hex where protobuf's JSON mapping expects base64.
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _ids_to_base64(node: Any) -> Any:
    if isinstance(node, list):
        return [_ids_to_base64(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: (base64.b64encode(bytes.fromhex(value)).decode()
                  if key in _ID_FIELDS and isinstance(value, str) else _ids_to_base64(value))
            for key, value in node.items()}


def parse_request(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    """An export request, protobuf (what the SDK's OTLP/HTTP exporter sends) or OTLP/JSON."""
    request = ExportTraceServiceRequest()
    if content_type.split(";")[0].strip() == "application/json":
        json_format.ParseDict(_ids_to_base64(json.loads(body)), request,
                              ignore_unknown_fields=True)
    else:
        request.ParseFromString(body)
    return request


# -- keeping the spans -----------------------------------------------------------------------
class TraceStore:
    """The received spans by trace id, safe to use from the receiver's threads.

    ``max_traces`` bounds a long ``dvcid dev`` session (the least recently active traces go
    first); the tests keep everything.
    """

    def __init__(self, max_traces: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Condition()
        self._traces: dict[str, list[Span]] = {}
        self._last_arrival: dict[str, float] = {}
        # Per trace, how many spans it had when it was last printed.
        self._shown: dict[str, int] = {}
        self._max_traces = max_traces
        self._clock = clock

    def add(self, spans: Iterable[Span]) -> None:
        with self._lock:
            now = self._clock()
            for span in spans:
                self._traces.setdefault(span.trace_id, []).append(span)
                self._last_arrival[span.trace_id] = now
            self._evict()
            self._lock.notify_all()

    def _evict(self) -> None:
        if self._max_traces is None:
            return
        while len(self._traces) > self._max_traces:
            oldest = min(self._last_arrival, key=self._last_arrival.__getitem__)
            for table in (self._traces, self._last_arrival, self._shown):
                table.pop(oldest, None)

    def trace(self, trace_id: str) -> list[Span]:
        with self._lock:
            return list(self._traces.get(trace_id, ()))

    def spans(self) -> list[Span]:
        """Every span received so far."""
        with self._lock:
            return [span for spans in self._traces.values() for span in spans]

    def by_span_id(self) -> dict[str, Span]:
        with self._lock:
            return {span.span_id: span for spans in self._traces.values() for span in spans}

    def wait_for(self, found: Callable[[TraceStore], Any], timeout: float) -> Any:
        """Waits until ``found(self)`` answers something truthy (spans arrive in batches) and
        returns it; raises TimeoutError with nothing after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                # found() takes the lock again: a Condition's lock is re-entrant (RLock).
                answer = found(self)
                if answer:
                    return answer
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no such spans after {timeout}s")
                self._lock.wait(min(left, 0.2))

    def finished(self, quiet: float = QUIET_SECONDS) -> list[tuple[list[Span], bool]]:
        """The traces quiet for ``quiet`` seconds with spans not printed yet, each with
        whether part of it was printed before (it continues). Marks them printed."""
        with self._lock:
            now = self._clock()
            ready = []
            for trace_id, spans in self._traces.items():
                shown = self._shown.get(trace_id, 0)
                if len(spans) > shown and now - self._last_arrival[trace_id] >= quiet:
                    ready.append((list(spans), shown > 0))
                    self._shown[trace_id] = len(spans)
            # In the order they began, as a reader followed them (not as their batches came).
            return sorted(ready, key=lambda done: min(span.start_ns for span in done[0]))


# -- the receiver ----------------------------------------------------------------------------
class _OtlpHandler(BaseHTTPRequestHandler):
    server: _OtlpServer

    def do_POST(self) -> None:  # the standard library's name
        if self.path.split("?")[0] != "/v1/traces":
            self._answer(404, b"", "text/plain")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        content_type = self.headers.get("Content-Type") or "application/x-protobuf"
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            request = parse_request(body, content_type)
        except Exception:  # a bad body is the sender's problem, not ours
            self._answer(400, b"undecodable export request", "text/plain")
            return
        self.server.store.add(decode_spans(request))
        if content_type.startswith("application/json"):
            self._answer(200, b"{}", "application/json")
        else:
            self._answer(200, ExportTraceServiceResponse().SerializeToString(),
                         "application/x-protobuf")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per export would drown the trees


class _OtlpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: TraceStore) -> None:
        super().__init__(address, _OtlpHandler)
        self.store = store


class TraceReceiver:
    """The OTLP/HTTP receiver on 127.0.0.1, serving in a background thread."""

    def __init__(self, store: TraceStore | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.store = store or TraceStore()
        self._server = _OtlpServer((host, port), self.store)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="otlp-receiver", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """What ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set to (the exporter adds ``/v1/traces``)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TraceReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def exporter_env(endpoint: str) -> dict[str, str]:
    """The environment that makes a process export its spans to ``endpoint`` quickly."""
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            # Send every 200 ms rather than the SDK's 5 s, so a tree shows as the flow ends.
            "OTEL_BSP_SCHEDULE_DELAY": "200"}


# -- the tree --------------------------------------------------------------------------------
def _shown_attributes(span: Span) -> str:
    parts: list[str] = []
    for key, short in SHOWN_ATTRIBUTES.items():
        if key in span.attributes and not any(p.startswith(f"{short}=") for p in parts):
            parts.append(f"{short}={span.attributes[key]}")
    return " ".join(parts)


def _status(span: Span) -> str:
    attributes = _shown_attributes(span)
    mark = "  ✗ ERROR" + (f": {span.status_message}" if span.status_message else "")
    return (mark if span.error else "") + (f"  {attributes}" if attributes else "")


def _describe_link(link: SpanLink, known: Mapping[str, Span]) -> str:
    """A linked span as a reader wants it: the request that asked (its trace's root, usually
    the gateway's HTTP span) and the span itself."""
    target = known.get(link.span_id)
    if target is None:
        return f"span {link.span_id} of trace {link.trace_id} (not received)"
    root, seen = target, {target.span_id}
    while (parent := known.get(root.parent_id or "")) is not None and parent.span_id not in seen:
        root = parent  # (``seen``: a sender's ids could loop)
        seen.add(root.span_id)
    via = "" if root is target else f" › {target.name}"
    return f"{root.name} [{root.service}]{via} (trace {link.trace_id[:8]}…)"


def _heading(spans: list[Span], roots: int, continued: bool) -> str:
    first = min(span.start_ns for span in spans)
    last = max(span.end_ns for span in spans)
    services = dict.fromkeys(span.service for span in sorted(spans, key=lambda s: s.start_ns))
    count = f"{len(spans)} span{'' if len(spans) == 1 else 's'}"
    return (f"{'… continued: ' if continued else ''}trace {spans[0].trace_id} · {count} · "
            f"{', '.join(services)} · {(last - first) / 1e6:.1f} ms"
            f"{f' · {roots} roots' if roots > 1 else ''}")


def render_trace(spans: list[Span], known: Mapping[str, Span] | None = None,
                 continued: bool = False) -> str:
    """A trace as a tree, children in start order; a span whose parent was not received is
    shown at the top with a note. ``known`` (span id → span, any trace) names the links."""
    if not spans:
        return ""
    ids = {span.span_id for span in spans}
    known = {**(known or {}), **{span.span_id: span for span in spans}}
    children: dict[str | None, list[Span]] = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in ids else None
        children.setdefault(parent, []).append(span)
    for siblings in children.values():
        siblings.sort(key=lambda s: (s.start_ns, s.name))

    # Per span: its label (tree lines + name), the span, the lead of what hangs below it.
    rows: list[tuple[str, Span, str]] = []

    def walk(span: Span, lead: str, branch: str) -> None:
        below = lead + {"├─ ": "│  ", "└─ ": "   "}.get(branch, "")
        rows.append((lead + branch + span.name, span, below))
        under = children.get(span.span_id, [])
        for index, child in enumerate(under):
            walk(child, below, "└─ " if index == len(under) - 1 else "├─ ")

    for root in children.get(None, []):
        walk(root, "", "")

    width = max(len(label) for label, _, _ in rows) + 2
    service_width = max(len(span.service) for span in spans) + 2
    lines = [_heading(spans, len(children.get(None, [])), continued)]
    for label, span, below in rows:
        lines.append(f"{label:<{width}}{'[' + span.service + ']':<{service_width}}"
                     f"{span.duration_ms:>9.1f} ms{_status(span)}")
        # Notes hang under the span's name, left of its children's branches.
        lead = below + ("│  " if children.get(span.span_id) else "   ")
        if span.parent_id is not None and span.parent_id not in ids:
            lines.append(f"{lead}(its parent span {span.parent_id} was not received)")
        lines.extend(f"{lead}↖ linked from: {_describe_link(link, known)}" for link in span.links)
    return "\n".join(lines)


def is_probe(spans: list[Span]) -> bool:
    """A trace of the readiness/metrics probes only (never printed)."""
    ids = {span.span_id for span in spans}
    roots = [span for span in spans if span.parent_id not in ids]
    return all(any(root.name.endswith(route) for route in PROBE_ROUTES) for root in roots)


class TracePrinter:
    """Prints each trace of a store as it finishes (``dvcid dev --trace``)."""

    def __init__(self, store: TraceStore, say: Callable[[str], None] = print,
                 quiet: float = QUIET_SECONDS) -> None:
        self.store = store
        self.say = say
        self.quiet = quiet
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trace-printer", daemon=True)

    def print_finished(self, quiet: float | None = None) -> int:
        """Prints the traces finished since the last call (quiet for ``quiet`` seconds, by
        default the printer's); how many it printed."""
        printed = 0
        finished = self.store.finished(self.quiet if quiet is None else quiet)
        if not finished:
            return 0
        known = self.store.by_span_id()
        for spans, continued in finished:
            if is_probe(spans):
                continue
            self.say("\n" + render_trace(spans, known, continued) + "\n")
            printed += 1
        return printed

    def _run(self) -> None:
        while not self._stopping.wait(0.25):
            self.print_finished()

    def start(self) -> TracePrinter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
