"""pki's counters (Prometheus, on ``shared.metrics.REGISTRY``): what came of the SIM prompts
it sent, and certificates it rejected by reason (following the committed CertificateRejected
events, so a USB signature, a SIM answer and a timeout are counted alike).
"""

from __future__ import annotations

from prometheus_client import Counter

from shared import metrics
from shared.events import Envelope

# A prompt the provider took (sent), a signature that came back valid (completed); any other
# outcome is the error code that ended it (sim_rejected, sim_timeout, rate_limited, ...).
SENT, COMPLETED = "sent", "completed"

sim_prompts = Counter("dvcid_sim_prompts", "SIM signature prompts by outcome (sent, completed "
                      "or the error code)", ["outcome"], registry=metrics.REGISTRY)
certificate_rejections = Counter("dvcid_certificate_rejections", "Certificates or signatures "
                                 "rejected, by reason", ["reason"], registry=metrics.REGISTRY)


def sim_prompt(outcome: str) -> None:
    sim_prompts.labels(outcome if outcome in (SENT, COMPLETED)
                       else metrics.error_code(outcome)).inc()


def observe(events: list[Envelope]) -> None:
    for event in events:
        if event.type == "CertificateRejected":
            certificate_rejections.labels(metrics.error_code(event.payload.get("reason"))).inc()


def install() -> None:
    metrics.on_commit(observe)
