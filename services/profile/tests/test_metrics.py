"""Profile's login counters follow the committed LoginSucceeded / LoginFailed facts."""

from __future__ import annotations

from services.profile import metrics as profile_metrics
from shared.events import LoginFailed, LoginSucceeded, new_event
from shared.metrics import REGISTRY


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_logins_are_counted_by_method_and_outcome() -> None:
    ok = value("dvcid_logins_total", method="password", outcome="success")
    wrong = value("dvcid_logins_total", method="password", outcome="invalid_credentials")
    odd = value("dvcid_logins_total", method="sim", outcome="other")
    profile_metrics.observe([
        new_event(LoginSucceeded(account_id="a", login_id="l1", method="password", level=1,
                                 ip="203.0.113.9"), correlation_id="l1"),
        new_event(LoginFailed(login_id="l2", method="password", reason="invalid_credentials"),
                  correlation_id="l2"),
        new_event(LoginFailed(login_id="l3", method="sim", reason="not a code we know"),
                  correlation_id="l3"),
    ])
    assert value("dvcid_logins_total", method="password", outcome="success") == ok + 1
    assert value("dvcid_logins_total", method="password",
                 outcome="invalid_credentials") == wrong + 1
    assert value("dvcid_logins_total", method="sim", outcome="other") == odd + 1


def test_the_argon2_queue_is_read_when_scraped() -> None:
    assert REGISTRY.get_sample_value("dvcid_argon2_queue_length") == 0
