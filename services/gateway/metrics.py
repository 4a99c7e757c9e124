"""The gateway's request metrics (Prometheus), recorded by ``observability.RequestObservability``.

Routes are labelled by their template (``/api/v1/registrations/{registration_id}``), never by
the concrete path: ids would make the label set grow without end, and paths carry flow ids.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class GatewayMetrics:
    """One registry per app, so several apps (tests) never collide in the global one."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("dvcid_gateway_requests_total", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("dvcid_gateway_request_duration_seconds",
                                 "Time to answer an HTTP request", ["method", "route"],
                                 registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                                          10))
