"""What a request leaves (services/gateway/observability.py): a span named by the route template,
child of an incoming traceparent, without the concrete path, query or client; metrics whose
labels stay bounded whatever a client sends. No servers needed."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from services.gateway.metrics import GatewayMetrics
from services.gateway.observability import RequestObservability, fastapi_options
from shared import tracing
from shared.tests.spans import recorded_spans

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def _app() -> FastAPI:
    app = FastAPI(**fastapi_options())

    @app.post("/api/v1/registrations/{registration_id}/otp")
    async def submit_otp(registration_id: str) -> dict[str, str | None]:
        # What the RPC client would send on: the request's span is current.
        return {"traceparent": tracing.current_trace_fields().get("traceparent")}

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("boom")

    app.add_middleware(RequestObservability, metrics=GatewayMetrics())
    return app


def test_a_request_span_is_named_by_its_route_and_joins_the_callers_trace() -> None:
    with recorded_spans("gateway") as spans, TestClient(_app()) as client:
        answer = client.post("/api/v1/registrations/7f3c/otp?phone=0912345678",
                             headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
                                      "user-agent": "Mozilla/5.0"})
    (span,) = spans.get_finished_spans()
    assert span.name == "POST /api/v1/registrations/{registration_id}/otp"
    assert span.kind is SpanKind.SERVER
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None and format(span.parent.span_id, "016x") == PARENT_ID
    # Only the method, the template and the status: no path, query, address or agent.
    assert dict(span.attributes or {}) == {
        "http.request.method": "POST",
        "http.route": "/api/v1/registrations/{registration_id}/otp",
        "http.response.status_code": 200}
    # Calls made while serving the request are its children.
    assert answer.json()["traceparent"].split("-")[2] == format(span.context.span_id, "016x")


def test_unknown_methods_and_routes_stay_bounded_and_a_500_is_an_error() -> None:
    with recorded_spans("gateway") as spans, TestClient(
            _app(), raise_server_exceptions=False) as client:
        client.request("PURGE", "/api/v1/registrations/7f3c/otp")
        client.get("/no/such/0912345678")
        client.get("/broken")
    purge, unmatched, broken = spans.get_finished_spans()
    assert purge.name.startswith("_OTHER")
    assert (purge.attributes or {})["http.request.method"] == "_OTHER"
    assert unmatched.name == "GET"
    assert "http.route" not in (unmatched.attributes or {})
    assert broken.status.status_code is StatusCode.ERROR
    assert (broken.attributes or {})["http.response.status_code"] == 500


def test_without_tracing_the_middleware_adds_nothing() -> None:
    with TestClient(_app()) as client:
        assert client.post("/api/v1/registrations/7f3c/otp").json() == {"traceparent": None}


def _fastapi_spans(options: dict[str, Any]) -> list[dict[str, Any]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    options.setdefault("telemetry", {})["tracer_provider"] = provider
    app = FastAPI(**options)

    @app.get("/api/v1/dev/sms")
    async def sms(phone: str) -> dict[str, str]:
        return {}

    with TestClient(app) as client:
        client.get("/api/v1/dev/sms?phone=0912345678")
    return [dict(span.attributes or {}) for span in exporter.get_finished_spans()]


def test_fastapis_own_telemetry_is_off_even_with_a_provider_at_hand() -> None:
    # What it would record: the concrete path and the query (a phone), so it stays off.
    recorded = _fastapi_spans({})
    assert any("0912345678" in str(attributes.get("url.query")) for attributes in recorded)
    assert _fastapi_spans(fastapi_options()) == []


def _counted_app(metrics: GatewayMetrics) -> RequestObservability:
    async def hello(_request: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    return RequestObservability(Starlette(routes=[Route("/items/{item_id}", hello)]), metrics)


async def _exposed(method: str, path: str) -> str:
    metrics = GatewayMetrics()
    transport = httpx.ASGITransport(app=_counted_app(metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.request(method, path)
    return generate_latest(metrics.registry).decode()


async def test_a_made_up_http_method_is_counted_as_other() -> None:
    text = await _exposed("BREW", "/items/42")
    assert 'dvcid_gateway_requests_total{method="other",route="/items/{item_id}",status="405"}' \
        in text
    assert "BREW" not in text


async def test_a_standard_method_keeps_its_name_and_the_route_its_template() -> None:
    text = await _exposed("GET", "/items/42")
    assert 'dvcid_gateway_requests_total{method="GET",route="/items/{item_id}",status="200"} 1.0' \
        in text
    assert "/items/42" not in text
