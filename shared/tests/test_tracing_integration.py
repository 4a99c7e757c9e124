"""Tracing on real servers: an RPC call, the event its handler commits (outbox, relay) and the
consumer that handles it are one trace, each span the child of the one before."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from shared import tracing
from shared.bus import Consumer, ConsumerRunner
from shared.events import RegistrationRequested, new_event
from shared.rpc import RemoteError, RpcClient, RpcServer, ServiceUnavailable
from shared.runtime import Infrastructure
from shared.storage import UnitOfWork
from shared.tests.spans import recorded_spans

pytestmark = pytest.mark.integration



async def _span(spans: InMemorySpanExporter, name: str, event_id: str | None = None,
                timeout: float = 10.0) -> ReadableSpan:
    """The finished span ``name`` (of ``event_id``: the stream is shared with other tests)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for span in spans.get_finished_spans():
            attributes = span.attributes or {}
            if span.name == name and event_id in (None, attributes.get("dvcid.event_id")):
                return span
        assert asyncio.get_running_loop().time() < deadline, f"no span {name}"
        await asyncio.sleep(0.05)


def _child_of(span: ReadableSpan, parent: ReadableSpan) -> bool:
    assert span.parent is not None and parent.context is not None
    return span.parent.span_id == parent.context.span_id


async def test_a_call_and_the_event_it_commits_are_one_trace_down_to_the_consumer(
        infra: Infrastructure) -> None:
    rid = str(uuid.uuid4())
    event = new_event(RegistrationRequested(registration_id=rid, method="mobile",
                                            subject_type="citizen", phone="+84912345678"),
                      correlation_id=rid)

    async def start(_payload: dict[str, Any]) -> Any:
        async with UnitOfWork(infra.mongo, infra.db) as uow:
            uow.emit(event)
            await uow.commit()
        return {"id": rid}

    async def handle(_delivered: Any) -> None:
        return None

    name = f"t{uuid.uuid4().hex[:6]}"
    server = RpcServer(infra.nc, name, "0.1.0", "test service")
    server.endpoint("start", start)
    runner = ConsumerRunner(infra.js, Consumer(f"test-{uuid.uuid4().hex[:8]}",
                                               ["RegistrationRequested"], handle))
    with recorded_spans() as spans:
        await server.start()
        await runner.start()
        try:
            with tracing.span("POST /api/v1/registrations", SpanKind.SERVER):
                await RpcClient(infra.nc, timeout=5).call(name, "start", {})
            await infra.relay.publish_pending()
            consume = await _span(spans, "consume RegistrationRequested", event.id)
        finally:
            await runner.stop()
            await server.stop()
    request = await _span(spans, "POST /api/v1/registrations")
    client = next(s for s in spans.get_finished_spans()
                  if s.name == f"{name}.start" and s.kind is SpanKind.CLIENT)
    served = next(s for s in spans.get_finished_spans()
                  if s.name == f"{name}.start" and s.kind is SpanKind.SERVER)
    publish = await _span(spans, "publish RegistrationRequested", event.id)
    assert _child_of(client, request) and _child_of(served, client)
    assert _child_of(publish, served) and _child_of(consume, publish)
    assert {s.context.trace_id for s in (request, client, served, publish, consume)
            if s.context} == {request.context.trace_id if request.context else 0}
    assert dict(served.attributes or {}) == {"rpc.system": "nats", "rpc.service": name,
                                             "rpc.method": "start", "dvcid.outcome": "ok"}


async def test_a_domain_error_is_an_outcome_and_an_internal_error_an_error_status(
        infra: Infrastructure) -> None:
    class WrongCode(Exception):
        def to_error(self) -> dict[str, Any]:
            return {"code": "otp_invalid"}

    async def verify(payload: dict[str, Any]) -> Any:
        if payload.get("crash"):
            raise RuntimeError("0912345678")
        raise WrongCode()

    name = f"t{uuid.uuid4().hex[:6]}"
    server = RpcServer(infra.nc, name, "0.1.0", "test service")
    server.endpoint("verify", verify)
    await server.start()
    client = RpcClient(infra.nc, timeout=5)
    with recorded_spans() as spans:
        try:
            for payload in ({}, {"crash": True}):
                with pytest.raises(RemoteError):
                    await client.call(name, "verify", payload)
        finally:
            await server.stop()
    for kind in (SpanKind.CLIENT, SpanKind.SERVER):
        both = [s for s in spans.get_finished_spans() if s.kind is kind]
        refused, crashed = sorted(both, key=lambda s: s.start_time or 0)
        assert (refused.attributes or {})["dvcid.outcome"] == "otp_invalid"
        assert refused.status.status_code is StatusCode.UNSET
        assert (crashed.attributes or {})["dvcid.outcome"] == "internal"
        assert crashed.status.status_code is StatusCode.ERROR
        assert crashed.status.description == "internal"


async def test_a_call_nobody_answers_is_a_failed_client_span(infra: Infrastructure) -> None:
    with recorded_spans() as spans, pytest.raises(ServiceUnavailable):
        await RpcClient(infra.nc).call(f"t{uuid.uuid4().hex[:6]}", "verify", {}, timeout=0.5)
    (client,) = spans.get_finished_spans()
    assert (client.attributes or {})["dvcid.outcome"] == "service_unavailable"
    assert client.status.description == "service_unavailable"
