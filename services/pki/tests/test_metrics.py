"""pki's counters: SIM prompt outcomes and certificate rejections by reason, bounded."""

from __future__ import annotations

from services.pki import metrics as pki_metrics
from shared.events import CertificateRejected, new_event
from shared.metrics import REGISTRY


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_sim_prompt_outcomes_keep_known_codes_only() -> None:
    before = {outcome: value("dvcid_sim_prompts_total", outcome=outcome)
              for outcome in ("sent", "sim_timeout", "other")}
    for outcome in ("sent", "sim_timeout", "phone says no"):
        pki_metrics.sim_prompt(outcome)
    for outcome in before:
        assert value("dvcid_sim_prompts_total", outcome=outcome) == before[outcome] + 1


def test_rejections_are_counted_by_reason_from_the_committed_events() -> None:
    revoked = value("dvcid_certificate_rejections_total", reason="certificate_revoked")
    pki_metrics.observe([new_event(CertificateRejected(flow_id="f", purpose="login",
                                                       reason="certificate_revoked"),
                                   correlation_id="f")])
    assert value("dvcid_certificate_rejections_total", reason="certificate_revoked") \
        == revoked + 1
