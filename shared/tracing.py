"""Distributed tracing (OpenTelemetry) across the gateway, RPC and JetStream events (issue 14).

Export is on only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (sent to ``<endpoint>/v1/traces``) or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used as is) is set: OTLP/HTTP protobuf through a
BatchSpanProcessor, resource ``service.name`` = the process's service. Without it no provider is
installed, ``span`` yields a non-recording span and nothing is injected: no cost.

Trace context travels as W3C ``traceparent``/``tracestate`` in NATS headers (RPC requests,
JetStream events; the outbox stores it with the event at commit).

Span attributes carry NO personal data: never a phone, ID number, name, birth date, e-mail, IP,
user agent, code, password, token, certificate, concrete URL path or payload. Only the keys in
``ALLOWED_ATTRIBUTES`` may be set (``span``/``set_attributes`` raise ``ValueError`` for any
other key, so a new key is a reviewed change here), and their values must be route templates,
service/endpoint names, event types and ids, durable names, opaque flow ids, error codes,
counts, HTTP status or provider answer codes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import INVALID_SPAN, Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "TRACEPARENT",
    "TRACESTATE",
    "Link",
    "Span",
    "SpanKind",
    "add_trace_ids",
    "configure_tracing",
    "context_from",
    "current_links",
    "current_trace_fields",
    "enabled",
    "extract",
    "inject",
    "mark_error",
    "set_attributes",
    "shutdown_tracing",
    "span",
    "use_provider",
]

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACES_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
_INSTRUMENTATION = "dvcid"

# Every attribute key a span may carry. Values: see the module docstring (no personal data).
ALLOWED_ATTRIBUTES = frozenset({
    # RPC over NATS (OpenTelemetry semantic conventions).
    "rpc.system", "rpc.service", "rpc.method",
    # JetStream events.
    "messaging.system", "messaging.operation.type", "messaging.destination.name",
    "messaging.message.id", "messaging.consumer.group.name",
    # HTTP at the gateway: method (bounded set), route template (never the concrete path).
    "http.request.method", "http.route", "http.response.status_code",
    # Outside calls: which system (telco, bhxh, twilio, smtp, ca, ocsp...), not where.
    "peer.service", "error.type",
    # dvcid's own.
    "dvcid.outcome",          # ok, or the error code
    "dvcid.error_code",       # an error code (snake_case), never an exception's text
    "dvcid.event_type", "dvcid.event_id", "dvcid.durable", "dvcid.delivery_attempt",
    "dvcid.flow_id",          # an opaque flow id
    "dvcid.step",             # a flow step's name (submit_otp, set_password...)
    "dvcid.method",           # a registration/login method (mobile, vneid...)
    "dvcid.purpose",          # an OTP purpose
    "dvcid.provider_answer",  # a provider's answer code (e.g. Twilio's error code)
    "dvcid.count",            # a count (events published, pool queue length...)
})

AttributeValue = str | bool | int | float
_propagator = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None
# Whether ``configure_tracing`` made the provider (and ``shutdown_tracing`` may stop it).
_owned = False


def _traces_endpoint() -> str | None:
    explicit = os.environ.get(TRACES_ENDPOINT_ENV, "").strip()
    if explicit:
        return explicit
    base = os.environ.get(ENDPOINT_ENV, "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


def configure_tracing(service: str) -> bool:
    """Installs the SDK provider for ``service`` when an OTLP endpoint is configured; returns
    whether tracing is on. Idempotent: a second call keeps the first provider."""
    global _owned
    if _provider is not None:
        return True
    endpoint = _traces_endpoint()
    if endpoint is None or os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    # Imported here: the exporter pulls in protobuf and requests, which a process without an
    # endpoint never needs.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    use_provider(provider)
    _owned = True
    # Deliberately NOT the global provider (trace.set_tracer_provider): libraries that trace
    # by themselves when one is set (FastAPI's native telemetry records url.path, url.query,
    # the client's address...) would export personal data. Only our own spans are recorded.
    return True


def use_provider(provider: TracerProvider | None) -> None:
    """The provider spans go to (``configure_tracing`` sets it; tests pass one with an
    in-memory exporter, and ``None`` to turn tracing off again)."""
    global _provider, _owned
    _provider, _owned = provider, False


def enabled() -> bool:
    return _provider is not None


def shutdown_tracing() -> None:
    """Flushes the spans still batched and stops the exporter (at process stop)."""
    global _provider, _owned
    if not _owned:
        return  # a provider a test installed is the test's to stop
    provider, _provider, _owned = _provider, None, False
    if provider is not None:
        provider.shutdown()


def _check(attributes: Mapping[str, AttributeValue | None]) -> dict[str, AttributeValue]:
    unknown = set(attributes) - ALLOWED_ATTRIBUTES
    if unknown:
        raise ValueError(f"span attribute keys not allowed (personal data rule): {sorted(unknown)}")
    return {key: value for key, value in attributes.items() if value is not None}


def set_attributes(target: Span, attributes: Mapping[str, AttributeValue | None]) -> None:
    """Sets allowed attributes on ``target`` (``None`` values are skipped)."""
    checked = _check(attributes)
    if target.is_recording():
        target.set_attributes(checked)


def mark_error(target: Span, code: str) -> None:
    """Error status with the error's code (never an exception's text: it may quote data)."""
    if target.is_recording():
        target.set_status(Status(StatusCode.ERROR, code))
        target.set_attribute("error.type", code)


@contextmanager
def span(name: str, kind: SpanKind = SpanKind.INTERNAL,
         attributes: Mapping[str, AttributeValue | None] | None = None, *,
         parent: Context | None = None, links: Sequence[Link] = (),
         **named: AttributeValue | None) -> Iterator[Span]:
    """A span named ``name`` current for the block: a child of ``parent`` (a context from
    ``extract``/``context_from``) or of the current span. ``attributes`` and ``named``
    (``dvcid_flow_id=...`` stands for ``dvcid.flow_id``) must use allowed keys. An exception
    escaping the block sets error status with its ``code`` or class name, not its text."""
    merged = {**(attributes or {}), **{key.replace("_", ".", 1): v for key, v in named.items()}}
    checked = _check(merged)
    if _provider is None:
        yield INVALID_SPAN
        return
    tracer = _provider.get_tracer(_INSTRUMENTATION)
    with tracer.start_as_current_span(name, context=parent, kind=kind, attributes=checked,
                                      links=links, record_exception=False,
                                      set_status_on_exception=False) as current:
        try:
            yield current
        except Exception as exc:
            if _unmarked(current):  # a status the block set itself says more
                mark_error(current, _error_code(exc))
            raise


def _unmarked(target: Span) -> bool:
    status = getattr(target, "status", None)  # the SDK's spans have one; the API's do not
    return status is None or status.status_code is StatusCode.UNSET


def _error_code(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) and code.isidentifier() else type(exc).__name__


def inject(headers: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """``headers`` plus the current span's ``traceparent``/``tracestate`` (nothing added when
    no span is current or tracing is off)."""
    carrier = dict(headers or {})
    if _provider is not None:
        _propagator.inject(carrier)
    return carrier


def extract(headers: Mapping[str, str] | None) -> Context | None:
    """The remote context in NATS/HTTP headers, or None when they carry none."""
    if not headers or _provider is None:
        return None
    lowered = {key.lower(): value for key, value in headers.items()
               if key.lower() in (TRACEPARENT, TRACESTATE)}
    if TRACEPARENT not in lowered:
        return None
    ctx = _propagator.extract(lowered)
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def current_trace_fields() -> dict[str, str]:
    """The current ``traceparent`` (and ``tracestate``) to store with a document (an outbox
    event, a flow) and resume later with ``context_from``; empty when there is none."""
    return inject({}) if _provider is not None else {}


def context_from(traceparent: str | None, tracestate: str | None = None) -> Context | None:
    """The context of a stored ``traceparent``, to parent later spans on it."""
    if not traceparent:
        return None
    headers = {TRACEPARENT: traceparent}
    if tracestate:
        headers[TRACESTATE] = tracestate
    return extract(headers)


def current_links() -> list[Link]:
    """A link to the current span (e.g. the request that asked for a flow step whose span is
    parented on the flow's stored context)."""
    ctx = trace.get_current_span().get_span_context()
    return [Link(ctx)] if ctx.is_valid else []


def add_trace_ids(_logger: Any, _method: str,
                  event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: ``trace_id`` and ``span_id`` of the current span, if any."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict["trace_id"] = format(ctx.trace_id, "032x")
        event_dict["span_id"] = format(ctx.span_id, "016x")
    return event_dict

