"""Profile's counters (Prometheus, on ``shared.metrics.REGISTRY``): logins by method and
outcome, following the committed LoginSucceeded / LoginFailed events (one per attempt, in the
unit of work that records it in the login history), and the argon2 pool's queue.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from services.profile.domain.models import PASSWORD_METHOD, SIGNATURE_METHODS
from shared import crypto, metrics
from shared.events import Envelope

METHODS = frozenset({PASSWORD_METHOD, *SIGNATURE_METHODS})
SUCCESS = "success"

logins = Counter("dvcid_logins", "Login attempts by method and outcome (success or the "
                 "error code)", ["method", "outcome"], registry=metrics.REGISTRY)
argon2_queue = Gauge("dvcid_argon2_queue_length", "Password hashes and checks waiting for a "
                     "thread of the argon2 pool", registry=metrics.REGISTRY)
argon2_queue.set_function(crypto.hash_queue_length)


def observe(events: list[Envelope]) -> None:
    for event in events:
        if event.type == "LoginSucceeded":
            outcome = SUCCESS
        elif event.type == "LoginFailed":
            outcome = metrics.error_code(event.payload.get("reason"))
        else:
            continue
        logins.labels(metrics.bounded(event.payload.get("method"), METHODS), outcome).inc()


def install() -> None:
    metrics.on_commit(observe)
