"""A registration is one trace (issue 14): the start stores its trace context in the flow, and
every later step is traced under it, linked to the request that asked for the step."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.trace import SpanKind

from services.registration.tests.fakes import World, make_world
from shared import tracing
from shared.tests.spans import by_name, recorded_spans

ID_NUMBER = "001090012345"
PHONE = "+84912345678"
NAME = "Nguyễn Văn An"
BIRTH = "1990-05-17"
APPLICATION = {"subject_type": "citizen", "method": "mobile", "id_number": ID_NUMBER,
               "full_name": NAME, "birth_date": BIRTH, "sex": "male", "phone": "0912 345 678"}


@pytest.fixture
def world() -> World:
    w = make_world()
    w.telco.add(PHONE, ID_NUMBER, NAME, BIRTH)
    return w


def _ref(flow: dict[str, Any]) -> dict[str, str]:
    return {"id": flow["id"], "flow_token": flow["flow_token"]}


async def test_later_steps_are_children_of_the_start_and_link_their_own_request(
        world: World) -> None:
    with recorded_spans() as spans:
        with tracing.span("start request", SpanKind.SERVER) as start_request:
            flow = await world.handlers.start(APPLICATION)
        with tracing.span("otp request", SpanKind.SERVER) as otp_request:
            await world.handlers.submit_otp({**_ref(flow), "code": world.otp.valid_code})
    start = start_request.get_span_context()
    stored = world.store.registrations[flow["id"]].trace_context
    assert stored is not None
    assert stored.split("-")[1:3] == [format(start.trace_id, "032x"), format(start.span_id, "016x")]
    step = by_name(spans)["registration.submit_otp"]
    assert step.kind is SpanKind.INTERNAL  # the request span is the SERVER one
    assert step.context is not None and step.context.trace_id == start.trace_id
    assert step.parent is not None and step.parent.span_id == start.span_id
    assert [link.context.span_id for link in step.links] == [
        otp_request.get_span_context().span_id]
    assert dict(step.attributes or {}) == {"dvcid.flow_id": flow["id"],
                                           "dvcid.step": "submit_otp", "dvcid.method": "mobile"}


async def test_a_flow_started_without_tracing_is_traced_under_each_request(world: World) -> None:
    flow = await world.handlers.start(APPLICATION)  # tracing off: nothing stored
    assert world.store.registrations[flow["id"]].trace_context is None
    with recorded_spans() as spans, tracing.span("request", SpanKind.SERVER) as request:
        await world.handlers.resend_otp(_ref(flow))
    step = by_name(spans)["registration.resend_otp"]
    assert step.parent is not None
    assert step.parent.span_id == request.get_span_context().span_id
    assert not step.links


async def test_the_expiry_of_a_flow_is_announced_in_its_trace(world: World) -> None:
    with recorded_spans() as spans:
        with tracing.span("start request", SpanKind.SERVER) as start_request:
            flow = await world.handlers.start(APPLICATION)
        world.clock.advance(minutes=31)
        assert await world.sweeper.sweep() == 1  # a background job: no request span
    expire = by_name(spans)["registration.expire"]
    assert expire.parent is not None
    assert expire.parent.span_id == start_request.get_span_context().span_id
    assert not expire.links
    assert dict(expire.attributes or {})["dvcid.flow_id"] == flow["id"]
