"""The Prometheus side of `dvcid dev`: a scrape configuration for the processes of one stack.

The production configuration (Kubernetes service discovery) is deploy/observability/
prometheus.yml; this one lists the dev stack's own ports, so a developer sees the dashboards'
numbers with ``prometheus --config.file=.dev/observability/prometheus.yml``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import yaml

# The alert rules, when this runs from a checkout (they are not part of the package).
ALERTS = Path(__file__).resolve().parent.parent / "deploy" / "observability" / "alerts.yaml"


def dev_prometheus_config(metrics_urls: dict[str, str], scrape_seconds: int = 5) -> str:
    """One scrape job per process (``job`` = the service, ``instance`` = the process name,
    the same labels as in Kubernetes) from ``{process: metrics URL}``."""
    jobs: dict[str, list[dict[str, object]]] = {}
    for process, url in metrics_urls.items():
        address = urlsplit(url)
        service = process.rsplit("-", 1)[0] if process[-1].isdigit() else process
        jobs.setdefault(service, []).append({
            "targets": [address.netloc], "labels": {"instance": process}})
    config: dict[str, object] = {
        "global": {"scrape_interval": f"{scrape_seconds}s",
                   "evaluation_interval": f"{scrape_seconds}s"},
        "scrape_configs": [{"job_name": service, "metrics_path": "/metrics",
                            "static_configs": targets}
                           for service, targets in jobs.items()],
    }
    if ALERTS.exists():
        config["rule_files"] = [str(ALERTS)]
    return "# Written by `dvcid dev` for this stack's ports; regenerated at each start.\n" + \
        yaml.safe_dump(config, sort_keys=False)
