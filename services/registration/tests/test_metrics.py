"""Registration's flow counters follow the committed facts, with bounded labels."""

from __future__ import annotations

from services.registration import metrics as registration_metrics
from shared.events import RegistrationCompleted, RegistrationFailed, new_event
from shared.metrics import REGISTRY


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_started_completed_and_failed_are_counted_by_method_and_code() -> None:
    started = value("dvcid_registrations_started_total", method="bhxh")
    completed = value("dvcid_registrations_completed_total", method="bhxh")
    failed = value("dvcid_registrations_failed_total", method="bhxh", code="flow_expired")
    odd = value("dvcid_registrations_failed_total", method="other", code="other")
    registration_metrics.flow_started("bhxh")
    registration_metrics.observe([
        new_event(RegistrationCompleted(registration_id="r1", account_id="a1", method="bhxh",
                                        level=2), correlation_id="r1"),
        new_event(RegistrationFailed(registration_id="r2", method="bhxh", code="flow_expired"),
                  correlation_id="r2"),
        new_event(RegistrationFailed(registration_id="r3", method="carrier_pigeon",
                                     code="something_new"), correlation_id="r3"),
    ])
    assert value("dvcid_registrations_started_total", method="bhxh") == started + 1
    assert value("dvcid_registrations_completed_total", method="bhxh") == completed + 1
    assert value("dvcid_registrations_failed_total", method="bhxh",
                 code="flow_expired") == failed + 1
    assert value("dvcid_registrations_failed_total", method="other", code="other") == odd + 1


def test_every_method_of_the_service_is_a_label_value() -> None:
    assert {"mobile", "bhxh", "sim", "usb", "post_office"} <= registration_metrics.METHODS
