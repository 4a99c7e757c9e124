"""OTP's counters (Prometheus, on ``shared.metrics.REGISTRY``): codes sent by purpose and
outcome, and SMS the provider refused by its answer (Twilio's error code, else the HTTP
status, else ``network``), bounded to the answers worth telling apart.
"""

from __future__ import annotations

from typing import get_args

from prometheus_client import Counter

from services.otp.domain.ports import SmsDeliveryError
from shared import metrics
from shared.events.schemas import Purpose

PURPOSES = frozenset(get_args(Purpose))
SENT, FAILED = "sent", "failed"
NETWORK = "network"
# Twilio's Messages API error codes an operator acts on differently
# (https://www.twilio.com/docs/api/errors): credentials, rate limits, a bad or unreachable
# number, a blocked or unsubscribed recipient, the account's geographic permissions.
TWILIO_CODES = frozenset({
    "20003", "20404", "20429", "21211", "21408", "21606", "21610", "21612", "21614", "21617",
    "30001", "30003", "30004", "30005", "30006", "30007", "30008",
})
HTTP_STATUSES = frozenset({"400", "401", "403", "404", "429", "500", "502", "503", "504"})
PROVIDER_ANSWERS = TWILIO_CODES | {f"http_{status}" for status in HTTP_STATUSES} | {NETWORK}

otp_sends = Counter("dvcid_otp_sends", "One-time codes sent by SMS, by purpose and outcome "
                    "(sent, failed)", ["purpose", "outcome"], registry=metrics.REGISTRY)
sms_failures = Counter("dvcid_sms_delivery_failures", "SMS the provider did not accept, by "
                       "its answer", ["provider_answer"], registry=metrics.REGISTRY)


def provider_answer(error: SmsDeliveryError) -> str:
    if error.provider_code is not None:
        answer = str(error.provider_code)
    elif error.status is not None:
        answer = f"http_{error.status}"
    else:
        answer = NETWORK
    return metrics.bounded(answer, PROVIDER_ANSWERS)


def otp_sent(purpose: str) -> None:
    otp_sends.labels(metrics.bounded(purpose, PURPOSES), SENT).inc()


def otp_failed(purpose: str, error: SmsDeliveryError) -> None:
    otp_sends.labels(metrics.bounded(purpose, PURPOSES), FAILED).inc()
    sms_failed(error)


def sms_failed(error: SmsDeliveryError) -> None:
    """Any SMS the provider refused (codes and notices alike)."""
    sms_failures.labels(provider_answer(error)).inc()
