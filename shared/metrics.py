"""Prometheus metrics every bus service exports, and the per-process ``/metrics`` server.

The generic metrics (RPC, events, outbox, consumers) are counted here by the shared runtime;
each service adds its flow counters in its own ``services/<service>/metrics.py`` on the same
``REGISTRY``. Label values always come from a fixed set: endpoint, durable and event type names
are ours, error codes outside ``ERROR_CODES`` become ``other``. A label never carries a phone,
an id or anything a client sent, which would grow the series without end and leak data.

Domain counters follow the facts a service commits: ``on_commit`` observers see the events of
every committed unit of work once (a transaction retried after a conflict counts once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from shared.events.schemas import EVENT_TYPES
from shared.logging import get_logger

if TYPE_CHECKING:
    from shared.events import Envelope

log = get_logger(__name__)

OTHER = "other"

# Every error code a service answers or records (docs/api-error-codes.md, the services'
# ServiceError subclasses, the runtime's own); tests/test_metrics_codes.py keeps it complete.
ERROR_CODES = frozenset({
    "account_disabled", "account_exists", "account_locked", "bhxh_mismatch", "bhxh_not_found",
    "bhxh_phone_mismatch", "captcha_invalid", "captcha_required", "certificate_expired",
    "certificate_not_for_signing", "certificate_not_registered", "certificate_revoked",
    "certificate_untrusted", "challenge_expired", "challenge_format", "credential_missing",
    "email_failed", "email_required", "external_unavailable", "flow_expired", "flow_state",
    "forbidden", "idempotency_key_in_progress", "idempotency_key_invalid",
    "idempotency_key_reused", "insufficient_assurance", "internal", "invalid_credentials",
    "invalid_id_number", "invalid_phone", "invalid_tax_code", "last_auth_method",
    "method_not_allowed", "no_password_method", "not_found", "otp_attempts_exceeded",
    "otp_expired", "otp_invalid", "otp_resend_too_soon", "otp_send_limit", "password_mismatch",
    "password_policy", "phone_limit", "rate_limited", "reauthentication_required",
    "service_unavailable", "signature_invalid", "sim_rejected", "sim_timeout", "sms_failed",
    "subscriber_mismatch", "unauthenticated", "validation_error",
    # The OpenID Provider's (services/oidc): OAuth 2.0's own error codes (RFC 6749, 7009, 7591).
    "invalid_client", "invalid_client_metadata", "invalid_grant", "invalid_request",
    "invalid_scope", "invalid_token", "unauthorized_client", "unsupported_grant_type",
    "unsupported_token_type", "unsupported_response_type", "request_not_supported",
})

REGISTRY = CollectorRegistry()

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

rpc_requests = Counter("dvcid_rpc_requests", "RPC requests served, by outcome (ok or the "
                       "error code)", ["endpoint", "outcome"], registry=REGISTRY)
rpc_duration = Histogram("dvcid_rpc_request_duration_seconds", "Time to answer an RPC request",
                         ["endpoint"], registry=REGISTRY, buckets=_LATENCY_BUCKETS)
events_published = Counter("dvcid_events_published", "Events the outbox relay published",
                           ["type"], registry=REGISTRY)
outbox_pending = Gauge("dvcid_outbox_pending_events", "Committed events waiting for the relay",
                       registry=REGISTRY)
outbox_oldest_age = Gauge("dvcid_outbox_oldest_event_age_seconds",
                          "Age of the oldest event waiting for the relay (0 when none)",
                          registry=REGISTRY)
events_handled = Counter("dvcid_events_handled", "Events a durable consumer handled, by "
                         "outcome (ok, retry, dead_letter)", ["durable", "outcome"],
                         registry=REGISTRY)
redeliveries = Counter("dvcid_consumer_redeliveries", "Events delivered again to a durable",
                       ["durable"], registry=REGISTRY)
dead_letters = Counter("dvcid_dead_letters", "Events a durable sent to the dead-letter stream",
                       ["durable"], registry=REGISTRY)
consumer_pending = Gauge("dvcid_consumer_pending_messages", "Events waiting for a durable "
                         "(its lag)", ["durable"], registry=REGISTRY)

HANDLED_OUTCOMES = ("ok", "retry", "dead_letter")

_observers: list[Callable[[list[Envelope]], None]] = []


def bounded(value: str | None, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed``, else ``other``: a label's set never grows."""
    return value if value is not None and value in allowed else OTHER


def error_code(code: str | None) -> str:
    return bounded(code, ERROR_CODES)


def event_type(name: str | None) -> str:
    return bounded(name, EVENT_TYPES)


# --- RPC ------------------------------------------------------------------------------------

def rpc_served(endpoint: str, outcome: str, seconds: float) -> None:
    """One answered request: ``outcome`` is ``ok`` or the error code it answered."""
    rpc_requests.labels(endpoint, "ok" if outcome == "ok" else error_code(outcome)).inc()
    rpc_duration.labels(endpoint).observe(seconds)


# --- events ---------------------------------------------------------------------------------

def event_published(subject: str) -> None:
    event_published_type(subject.rsplit(".", 1)[-1])


def event_published_type(name: str) -> None:
    events_published.labels(event_type(name)).inc()


def outbox_backlog(pending: int, oldest_age_seconds: float) -> None:
    outbox_pending.set(pending)
    outbox_oldest_age.set(max(0.0, oldest_age_seconds) if pending else 0.0)


def message_received(durable: str, delivered: int, pending: int | None) -> None:
    """A message fetched by ``durable``: ``delivered`` is the server's delivery count (above
    1: a redelivery), ``pending`` how many more wait for this consumer."""
    if delivered > 1:
        redeliveries.labels(durable).inc()
    pending_messages(durable, pending)


def event_handled(durable: str, outcome: str) -> None:
    """What came of one delivery to ``durable``: ok, retry or dead_letter."""
    events_handled.labels(durable, bounded(outcome, HANDLED_OUTCOMES)).inc()
    if outcome == "dead_letter":
        dead_letters.labels(durable).inc()


def pending_messages(durable: str, pending: int | None) -> None:
    if pending is not None:
        consumer_pending.labels(durable).set(pending)


# --- committed facts (the services' flow counters) ------------------------------------------

def on_commit(observer: Callable[[list[Envelope]], None]) -> None:
    """``observer`` sees the events of every unit of work this process commits."""
    if observer not in _observers:
        _observers.append(observer)


def committed(events: list[Envelope]) -> None:
    """Called by the unit of work after a commit; a failing observer never fails the step."""
    for observer in _observers:
        try:
            observer(events)
        except Exception:  # a metric must never undo a committed step
            log.exception("metrics observer failed")


# --- the /metrics server --------------------------------------------------------------------

def serve_metrics(port: int | None, host: str = "127.0.0.1") -> bool:
    """Serves ``REGISTRY`` on ``http://host:port/metrics`` from a thread; nothing when ``port``
    is unset (``DVCID_METRICS_PORT``)."""
    if port is None:
        return False
    start_http_server(port, addr=host, registry=REGISTRY)
    return True
