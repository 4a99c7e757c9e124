"""A mobile registration is ONE trace across every process (issue 14), and no span carries
personal data.

The session's stack exports every process's spans over OTLP/HTTP to a receiver in this test
process (tests/conftest.py, the same receiver as `dvcid dev --trace`). A citizen registers by
mobile number through the API; the test then reads the spans: one trace holds the gateway's
request, registration's steps, otp's SMS send and profile's account, all one tree under one
root, and each later step links to the HTTP request that asked for it. Then it looks through
every span received (names, statuses, attributes of spans, events and links) for the
personal data of this flow and of every person the session's tests made up, and through the
services' logs for the flow's lines, which must carry the trace id.

This file runs LAST in the session (tests/conftest.py): the scan then covers every span the
whole session exported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest

from dvcid.devstack import DevStack
from dvcid.traceview import Span, SpanLink, TraceStore
from tests.journeys import (
    API,
    PERSONAL_VALUES,
    STRONG_PASSWORD,
    Citizen,
    add_subscriber,
    flow_headers,
    new_citizen,
    next_otp,
    start_registration,
)
from tests.security.test_personal_data_in_logs import ANY_PHONE
from tests.security.test_personal_data_in_logs import _forms as written_forms

pytestmark = pytest.mark.e2e

# What the citizen's browser sends: neither may reach a span.
# An e-mail address (ANY_PHONE: a Vietnamese mobile number, national or E.164).
ANY_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) TraceProbe/4.2.1871"
CLIENT_IP = "10.211.87.143"
SPANS_TIMEOUT = 30.0


@dataclass
class RegisteredFlow:
    citizen: Citizen
    flow_id: str
    flow_token: str
    otp_code: str
    account_id: str
    trace_id: str
    spans: list[Span]


def _step_spans(store: TraceStore, flow_id: str) -> list[Span]:
    return [span for span in store.spans()
            if span.attributes.get("dvcid.flow_id") == flow_id and "dvcid.step" in span.attributes]


def _complete(store: TraceStore, flow_id: str) -> list[Span] | None:
    """The flow's trace once its last hops arrived (registration consumed AccountActivated,
    profile staged the credential, otp sent the SMS, both steps are in) with every parent
    (each process exports on its own: a child may come before its parent)."""
    steps = _step_spans(store, flow_id)
    if not {"submit_otp", "set_password"} <= {span.attributes["dvcid.step"] for span in steps}:
        return None
    spans = store.trace(steps[0].trace_id)
    names = {(span.service, span.name) for span in spans}
    done = {("registration", "consume AccountActivated"), ("otp", "sms.send"),
            ("profile", "profile.stage_credential"), ("gateway", "POST /api/v1/registrations")}
    ids = {span.span_id for span in spans}
    connected = sum(span.parent_id not in ids for span in spans) == 1
    return spans if done <= names and connected else None


@pytest.fixture(scope="module")
def registered(stack: DevStack, traces: TraceStore) -> Iterator[RegisteredFlow]:
    headers = {"User-Agent": USER_AGENT, "X-Forwarded-For": CLIENT_IP}
    with httpx.Client(base_url=stack.gateway_url, timeout=30, headers=headers) as browser:
        citizen = new_citizen(sex="female", year=1996)
        add_subscriber(browser, citizen)
        flow = start_registration(browser, citizen)
        code = next_otp(browser, citizen)
        response = browser.post(f"{API}/registrations/{flow['id']}/otp", json={"code": code},
                                headers=flow_headers(flow))
        assert response.status_code == 200, response.text
        response = browser.post(f"{API}/registrations/{flow['id']}/password",
                                headers=flow_headers(flow),
                                json={"password": STRONG_PASSWORD,
                                      "password_confirmation": STRONG_PASSWORD})
        assert response.status_code == 201, response.text
    try:
        spans = traces.wait_for(lambda store: _complete(store, flow["id"]), SPANS_TIMEOUT)
    except TimeoutError:
        got = sorted({(s.service, s.name) for s in traces.spans()
                      if s.trace_id in {x.trace_id for x in _step_spans(traces, flow["id"])}})
        pytest.fail(f"the flow's trace is incomplete after {SPANS_TIMEOUT}s; it holds {got}")
    yield RegisteredFlow(citizen, flow["id"], flow["flow_token"], code,
                         response.json()["account_id"], spans[0].trace_id, spans)


def _named(spans: list[Span], service: str, name: str) -> Span:
    found = [span for span in spans if span.service == service and span.name == name]
    assert found, f"no span {name!r} of {service} in {sorted({(s.service, s.name) for s in spans})}"
    return found[0]


def test_a_mobile_registration_is_one_trace_across_every_process(
        registered: RegisteredFlow, traces: TraceStore) -> None:
    spans = registered.spans
    assert {"gateway", "registration", "otp", "profile"} <= {span.service for span in spans}
    assert all(span.trace_id == registered.trace_id for span in spans)
    # One tree: every span's parent is in the trace, but the root's, which has none.
    ids = {span.span_id for span in spans}
    assert len(ids) == len(spans)
    roots = [span for span in spans if span.parent_id not in ids]
    assert [(r.service, r.name, r.parent_id) for r in roots] == [
        ("gateway", "POST /api/v1/registrations", None)]
    assert roots[0].kind == "server"
    assert roots[0].attributes.get("http.response.status_code") == 201

    by_id = {span.span_id: span for span in spans}

    def ancestors(span: Span) -> list[tuple[str, str]]:
        chain: list[tuple[str, str]] = []
        while span.parent_id is not None:
            span = by_id[span.parent_id]
            chain.append((span.service, span.name))
        return chain

    # The SMS went out while otp handled RegistrationRequested, published by registration's
    # start under the gateway's request.
    sms = _named(spans, "otp", "sms.send")
    assert sms.kind == "client"
    assert ("otp", "consume RegistrationRequested") in ancestors(sms)
    assert ("registration", "publish RegistrationRequested") in ancestors(sms)
    assert ancestors(sms)[-1] == ("gateway", "POST /api/v1/registrations")
    # The account: set_password staged the credential in profile, AccountCreated reached
    # profile, whose AccountActivated came back to registration, all in this trace.
    assert _named(spans, "profile", "profile.stage_credential").kind == "server"
    activated = _named(spans, "registration", "consume AccountActivated")
    assert ("profile", "publish AccountActivated") in ancestors(activated)
    assert ("profile", "consume AccountCreated") in ancestors(activated)

    # A failed delivery (a write conflict with the step racing it) is retried and shows as a
    # span of its own: nothing else failed, and every retried event was handled in the end.
    failed = [span for span in spans if span.error]
    assert all(span.kind == "consumer" and span.attributes.get("dvcid.outcome") == "retry"
               for span in failed), [(s.name, s.status_message) for s in failed]
    for span in failed:
        traces.wait_for(partial(_handled, span=span), SPANS_TIMEOUT)


def _handled(store: TraceStore, span: Span) -> bool:
    """The delivery after a retried one (same event, same durable) succeeded."""
    keys = ("dvcid.event_id", "dvcid.durable")
    return any(other.attributes.get("dvcid.outcome") == "ok"
               and all(other.attributes.get(k) == span.attributes.get(k) for k in keys)
               for other in store.trace(span.trace_id))


def _root_of(store: TraceStore, link: SpanLink) -> Span | None:
    """The root of the linked span's trace, once it and all its ancestors arrived."""
    known = store.by_span_id()
    span = known.get(link.span_id)
    while span is not None and span.parent_id is not None:
        span = known.get(span.parent_id)
    return span


def test_each_later_step_links_to_the_request_that_asked(
        registered: RegisteredFlow, traces: TraceStore) -> None:
    routes = {"submit_otp": "POST /api/v1/registrations/{registration_id}/otp",
              "set_password": "POST /api/v1/registrations/{registration_id}/password"}
    steps = {span.attributes["dvcid.step"]: span for span in registered.spans
             if span.attributes.get("dvcid.flow_id") == registered.flow_id
             and "dvcid.step" in span.attributes}
    assert set(routes) <= set(steps)
    for step, route in routes.items():
        [link] = steps[step].links
        assert link.trace_id != registered.trace_id  # the request is a trace of its own
        # The gateway ends (and exports) the request's span after the service answered.
        asked = traces.wait_for(partial(_root_of, link=link), SPANS_TIMEOUT)
        assert (asked.service, asked.name, asked.trace_id) == ("gateway", route, link.trace_id)


def _phone_forms(phone: str) -> set[str]:
    """0912345678, +84912345678 and 84912345678 all hold the subscriber digits."""
    return {phone[1:]}


def _leaks(spans: list[Span], secrets: dict[str, set[str]]) -> list[str]:
    found: list[str] = []
    for span in spans:
        for text in span.texts():
            lowered = text.lower()
            found.extend(f"{what} in span {span.service}/{span.name}: {text!r}"
                         for what, forms in secrets.items()
                         if any(form.lower() in lowered for form in forms))
    return found


def test_the_flows_spans_hold_no_personal_data(registered: RegisteredFlow,
                                               traces: TraceStore) -> None:
    citizen = registered.citizen
    secrets = {
        "phone": _phone_forms(citizen.phone),
        "ID number": {citizen.id_number},
        "name": {citizen.full_name, "Trần", "Bình"},
        "birth date": written_forms(citizen.birth_date),
        "OTP code": {registered.otp_code},
        "password": {STRONG_PASSWORD},
        "flow token": {registered.flow_token},
        "user agent": {"TraceProbe", USER_AGENT},
        "client IP": {CLIENT_IP},
        # The flow id alone is an opaque id spans may carry; the concrete path is not.
        "URL path": {f"/registrations/{registered.flow_id}/"},
    }
    # This flow's trace and the step requests' traces it links to.
    linked = {link.trace_id for span in registered.spans for link in span.links}
    spans = registered.spans + [s for s in traces.spans() if s.trace_id in linked]
    assert len(spans) > len(registered.spans)
    assert _leaks(spans, secrets) == []


def test_no_span_of_the_session_holds_anyones_personal_data(
        registered: RegisteredFlow, traces: TraceStore) -> None:
    spans = traces.spans()
    assert len(spans) > len(registered.spans)
    secrets = {value: written_forms(value) for value in PERSONAL_VALUES}
    secrets["password"] = {STRONG_PASSWORD}
    assert _leaks(spans, secrets) == []
    # Whoever's they are (tests here make up phones and e-mails this list does not hold).
    shaped = [f"{span.service}/{span.name}: {text!r}" for span in spans for text in span.texts()
              if ANY_PHONE.search(text) or ANY_EMAIL.search(text)]
    assert shaped == []


TRACE_ID = re.compile(r"""trace_id["=:\s]+"?([0-9a-f]{32})""")
SPAN_ID = re.compile(r"""span_id["=:\s]+"?([0-9a-f]{16})""")


def test_the_flows_log_lines_carry_its_trace_id(registered: RegisteredFlow, stack: DevStack,
                                                traces: TraceStore) -> None:
    """Every service line about the flow was logged while a span was current (a step, an
    event, an RPC): each carries a trace id of the flow (its trace or a step request's) and a
    span id that was exported."""
    request_traces = {link.trace_id for span in registered.spans for link in span.links}
    allowed = {registered.trace_id} | request_traces
    lines = [line for name in ("registration.log", "otp.log", "profile.log")
             for line in (Path(stack.logs) / name).read_text(errors="replace").splitlines()
             if registered.flow_id in line or registered.account_id in line]
    assert len(lines) >= 4, lines
    logged_spans = {found.group(1) for line in lines if (found := SPAN_ID.search(line))}
    try:  # a span is exported when it ends, after the lines written in it
        known = traces.wait_for(
            lambda store: (spans := store.by_span_id()).keys() >= logged_spans and spans,
            SPANS_TIMEOUT)
    except TimeoutError:
        known = traces.by_span_id()
    for line in lines:
        trace_id, span_id = TRACE_ID.search(line), SPAN_ID.search(line)
        assert trace_id and span_id, f"a line of the flow without trace_id/span_id: {line}"
        assert trace_id.group(1) in allowed, line
        assert span_id.group(1) in known, f"span of this line never exported: {line}"
        assert known[span_id.group(1)].trace_id == trace_id.group(1)
    assert any(f"trace_id={registered.trace_id}" in line for line in lines)
    # The gateway's request lines name the route template and the request's trace.
    gateway = (Path(stack.logs) / "gateway.log").read_text(errors="replace")
    for request_trace in {registered.trace_id} | request_traces:
        assert re.search(rf"route=\S*/registrations\S*.*trace_id={request_trace}", gateway), \
            request_trace
