"""Registration's flow counters (Prometheus, on ``shared.metrics.REGISTRY``).

Started is counted when a flow is stored; completed and failed follow the committed
RegistrationCompleted / RegistrationFailed events, so every way a flow ends (a step, an event
consumer, the expiry sweeper) is counted once, by the unit of work that ended it.
"""

from __future__ import annotations

from prometheus_client import Counter

from services.registration.domain.methods import AVAILABLE_METHODS, PLANNED_METHODS, post_office
from shared import metrics
from shared.events import Envelope

METHODS = frozenset({*AVAILABLE_METHODS, *PLANNED_METHODS, post_office.METHOD})

started = Counter("dvcid_registrations_started", "Registration flows started",
                  ["method"], registry=metrics.REGISTRY)
completed = Counter("dvcid_registrations_completed", "Registration flows completed "
                    "(an account made)", ["method"], registry=metrics.REGISTRY)
failed = Counter("dvcid_registrations_failed", "Registration flows failed, by error code",
                 ["method", "code"], registry=metrics.REGISTRY)


def method_label(method: str | None) -> str:
    return metrics.bounded(method, METHODS)


def flow_started(method: str) -> None:
    started.labels(method_label(method)).inc()


def observe(events: list[Envelope]) -> None:
    """The committed facts that end a flow."""
    for event in events:
        method = method_label(event.payload.get("method"))
        if event.type == "RegistrationCompleted":
            completed.labels(method).inc()
        elif event.type == "RegistrationFailed":
            failed.labels(method, metrics.error_code(event.payload.get("code"))).inc()


def install() -> None:
    metrics.on_commit(observe)
