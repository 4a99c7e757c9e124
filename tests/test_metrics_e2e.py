"""Each process of the stack serves its Prometheus metrics (DVCID_METRICS_PORT, the gateway
on /metrics), and a mobile registration then a login move the counters of every service they
cross: the flow counters, the RPC and event counters, the outbox and consumer gauges."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from dvcid.devstack import DevStack
from tests.journeys import login, new_citizen, register

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, url
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    # Consumers and the relay work after the HTTP answers: their counters follow shortly.
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the counters did not move"
        time.sleep(0.3)


def test_a_mobile_registration_moves_the_counters_of_every_service(stack: DevStack,
                                                                    api: httpx.Client) -> None:
    urls = stack.metrics_urls()
    assert set(urls) == {"otp", "registration", "pki", "profile", "oidc", "gateway"}
    before = {name: scrape(url) for name, url in urls.items()}

    citizen = new_citizen()
    register(api, citizen)
    login(api, citizen)

    # (process, metric, labels, at least this much more than before)
    expected = [
        ("registration", "dvcid_registrations_started_total", {"method": "mobile"}, 1),
        ("registration", "dvcid_registrations_completed_total", {"method": "mobile"}, 1),
        ("registration", "dvcid_rpc_requests_total", {"endpoint": "start", "outcome": "ok"}, 1),
        ("registration", "dvcid_events_published_total", {"type": "RegistrationRequested"}, 1),
        ("otp", "dvcid_otp_sends_total", {"purpose": "registration", "outcome": "sent"}, 1),
        ("otp", "dvcid_otp_sends_total", {"purpose": "login", "outcome": "sent"}, 1),
        ("otp", "dvcid_events_handled_total",
         {"durable": "otp-registration-requested", "outcome": "ok"}, 1),
        ("profile", "dvcid_logins_total", {"method": "password", "outcome": "success"}, 1),
        ("profile", "dvcid_events_handled_total",
         {"durable": "profile-account-created", "outcome": "ok"}, 1),
        ("gateway", "dvcid_gateway_requests_total",
         {"method": "POST", "route": "/api/v1/registrations", "status": "201"}, 1),
    ]
    latest: dict[str, Samples] = {}

    def moved() -> bool:
        latest.update({name: scrape(url) for name, url in urls.items()})
        return all(value(latest[process], metric, **labels)
                   >= value(before[process], metric, **labels) + delta
                   for process, metric, labels, delta in expected)

    eventually(moved)
    # The gauges are there, measured: nothing waits once the flow is done.
    registration = latest["registration"]
    assert ("dvcid_outbox_pending_events", frozenset()) in registration
    assert value(registration, "dvcid_outbox_oldest_event_age_seconds") < 60
    assert ("dvcid_consumer_pending_messages",
            frozenset({("durable", "otp-registration-requested")})) in latest["otp"]
    assert ("dvcid_argon2_queue_length", frozenset()) in latest["profile"]
    # No label carries what a person sent.
    for samples in latest.values():
        for _name, labels in samples:
            assert citizen.phone not in str(labels) and citizen.id_number not in str(labels)
