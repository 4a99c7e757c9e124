"""What every HTTP request leaves for operators (issue 14), as one ASGI middleware outside
every other one: a SERVER span, the request metrics and one access log line.

All three name the request by its route template (``/api/v1/registrations/{registration_id}``)
and a bounded method, never by the concrete path: ids would make the metrics' label sets grow
without end, and paths carry flow ids and, on the sandbox's /dev pages, phones. The span carries
only the method, the template and the status: not the query, the client's address or its user
agent. An incoming W3C ``traceparent`` makes the span a child of the caller's trace; the RPC
calls made while serving the request are its children, and the access log line carries its
trace id.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from opentelemetry.trace import Span
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.metrics import GatewayMetrics
from shared import tracing
from shared.logging import get_logger
from shared.metrics import OTHER
from shared.tracing import SpanKind

log = get_logger("gateway.access")

# The HTTP methods of RFC 9110 (and PATCH): a client may send any token as its method, and each
# new one would be a new series or span name without end. Anything else is ``other`` in the
# metrics and ``_OTHER`` in the span (OpenTelemetry's convention).
STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                              "TRACE", "CONNECT"})
_SPAN_OTHER = "_OTHER"

# FastAPI's own telemetry (0.13x+) traces with the concrete path, the query and the client's
# address, and logs exception messages: off, whatever the environment says. Our spans only.
_FASTAPI_TELEMETRY_OFF = {"tracing": False, "metrics": False, "logs": False,
                          "operation_spans": False, "auto_configure": False}


def fastapi_options() -> dict[str, Any]:
    """``FastAPI(**fastapi_options())``: its own telemetry switched off where it has one."""
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": dict(_FASTAPI_TELEMETRY_OFF)}
    return {}


def _trace_headers(scope: Scope) -> dict[str, str]:
    wanted = {tracing.TRACEPARENT.encode(), tracing.TRACESTATE.encode()}
    return {name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers", []) if name.lower() in wanted}


@contextlib.contextmanager
def _request_span(scope: Scope, method: str) -> Iterator[Span | None]:
    if not tracing.enabled():
        yield None
        return
    name = method if method in STANDARD_METHODS else _SPAN_OTHER
    with tracing.span(name, SpanKind.SERVER, {"http.request.method": name},
                      parent=tracing.extract(_trace_headers(scope))) as current:
        yield current


def _close_span(span: Span, method: str, route: str | None, status: int) -> None:
    if route:
        # The route is known once the router matched it (it sets scope["route"]).
        span.update_name(f"{method if method in STANDARD_METHODS else _SPAN_OTHER} {route}")
    tracing.set_attributes(span, {"http.route": route, "http.response.status_code": status})
    if status >= 500:
        tracing.mark_error(span, str(status))


class RequestObservability:
    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = str(scope.get("method", ""))
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with _request_span(scope, method) as span:
            try:
                await self.app(scope, receive, send_and_record)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if span is not None:
                    _close_span(span, method, route, status)
                self._record(method, route or "unmatched", status, time.perf_counter() - started)

    def _record(self, method: str, route: str, status: int, elapsed: float) -> None:
        label = method if method in STANDARD_METHODS else OTHER
        self.metrics.requests.labels(label, route, str(status)).inc()
        self.metrics.latency.labels(label, route).observe(elapsed)
        log.info("request", method=label, route=route, status=status,
                 ms=round(elapsed * 1000, 1))
