"""OTP's counters: sends by purpose and outcome, SMS failures by a bounded provider answer."""

from __future__ import annotations

from services.otp import metrics as otp_metrics
from services.otp.domain.ports import SmsDeliveryError
from shared.metrics import REGISTRY


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_provider_answer_is_twilios_code_else_the_status_else_network() -> None:
    answer = otp_metrics.provider_answer
    assert answer(SmsDeliveryError("x", status=400, provider_code=21211)) == "21211"
    assert answer(SmsDeliveryError("x", status=400, provider_code=29999)) == "other"
    assert answer(SmsDeliveryError("x", status=503)) == "http_503"
    assert answer(SmsDeliveryError("x", status=418)) == "other"
    assert answer(SmsDeliveryError("network: ClientConnectorError")) == "network"


def test_a_failed_send_counts_the_send_and_the_provider_answer() -> None:
    sent = value("dvcid_otp_sends_total", purpose="login", outcome="sent")
    failed = value("dvcid_otp_sends_total", purpose="login", outcome="failed")
    unreachable = value("dvcid_sms_delivery_failures_total", provider_answer="21614")
    otp_metrics.otp_sent("login")
    otp_metrics.otp_failed("login", SmsDeliveryError("x", status=400, provider_code=21614))
    assert value("dvcid_otp_sends_total", purpose="login", outcome="sent") == sent + 1
    assert value("dvcid_otp_sends_total", purpose="login", outcome="failed") == failed + 1
    assert value("dvcid_sms_delivery_failures_total", provider_answer="21614") \
        == unreachable + 1
