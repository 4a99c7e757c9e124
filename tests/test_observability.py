"""deploy/observability: the dashboard and the alert rules name only metrics the code exports,
with labels those metrics have; the files parse; promtool accepts the rules and their unit
tests (Debian's `prometheus` package, installed by .ci/system-packages)."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from dvcid.observability import dev_prometheus_config
from services.gateway.metrics import GatewayMetrics
from shared import metrics

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "deploy" / "observability"
SERVICES = ("otp", "pki", "profile", "registration")
# Labels Prometheus adds to every scraped series (deploy/observability/prometheus.yml).
TARGET_LABELS = {"job", "instance"}
_SELECTOR = re.compile(r"\b(dvcid_[a-z0-9_]+)\b\s*(?:\{([^}]*)\})?")
_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"')
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
_LEGEND = re.compile(r"\{\{\s*\$?(?:labels\.)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def _labels_by_name(registry: CollectorRegistry) -> dict[str, set[str]]:
    # prometheus_client has no public way to list a metric's label names before a child
    # exists: read the collectors the registry holds (names include _total, _bucket, ...).
    found: dict[str, set[str]] = {}
    for collector, names in registry._collector_to_names.items():
        labels = set(getattr(collector, "_labelnames", ()))
        for name in names:
            found[name] = labels | ({"le"} if name.endswith("_bucket") else set())
    return found


def exported() -> dict[str, set[str]]:
    """Every series name the processes export, with its label names."""
    for service in SERVICES:
        importlib.import_module(f"services.{service}.metrics")
    return _labels_by_name(metrics.REGISTRY) | _labels_by_name(GatewayMetrics().registry)


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FOLDER / "dashboard.json").read_text())
    return loaded


def alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((FOLDER / "alerts.yaml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


def queries() -> list[tuple[str, str, str]]:
    """(where, expression, legend or annotation text) of every query in the two files."""
    found = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            found.append((panel["title"], target["expr"], target.get("legendFormat", "")))
    for rule in alert_rules():
        found.append((rule["alert"], rule["expr"], " ".join(rule["annotations"].values())))
    return found


def test_the_files_parse_and_the_dashboard_covers_every_flow() -> None:
    board = dashboard()
    assert board["uid"] and board["panels"]
    titles = " ".join(p["title"] for p in board["panels"]).lower()
    for topic in ("registration", "login", "sms", "sim", "certificate", "outbox", "lag",
                  "dead letter", "5xx", "latency"):
        assert topic in titles, topic
    yaml.safe_load((FOLDER / "prometheus.yml").read_text())
    assert len(queries()) > 20


def test_every_metric_named_is_exported_with_the_labels_used() -> None:
    names = exported()
    problems = []
    for where, expr, text in queries():
        used = _SELECTOR.findall(expr)
        assert used, (where, expr)
        available = set(TARGET_LABELS)
        for name, matchers in used:
            if name not in names:
                problems.append(f"{where}: {name} is not exported")
                continue
            available |= names[name]
            for label, _op, _value in _MATCHER.findall(matchers):
                if label not in names[name] | TARGET_LABELS:
                    problems.append(f"{where}: {name} has no label {label}")
        for grouping in _GROUPING.findall(expr):
            for label in filter(None, (part.strip() for part in grouping.split(","))):
                if label not in available:
                    problems.append(f"{where}: grouped by {label}, which no metric has")
        for label in _LEGEND.findall(text):
            if label not in available and label != "value":
                problems.append(f"{where}: shows {label}, which no metric has")
    assert problems == []


def test_the_label_values_filtered_on_are_values_the_code_gives() -> None:
    from services.otp import metrics as otp_metrics
    from services.profile import metrics as profile_metrics

    known = {("dvcid_otp_sends_total", "outcome"): {otp_metrics.SENT, otp_metrics.FAILED},
             ("dvcid_logins_total", "outcome"): {profile_metrics.SUCCESS},
             ("dvcid_events_handled_total", "outcome"): set(metrics.HANDLED_OUTCOMES)}
    for where, expr, _text in queries():
        for name, matchers in _SELECTOR.findall(expr):
            for label, op, value in _MATCHER.findall(matchers):
                if (name, label) in known and op in ("=", "!="):
                    assert value in known[(name, label)], (where, name, label, value)
                if (name, label) == ("dvcid_rpc_requests_total", "outcome") and op == "=~":
                    assert set(value.split("|")) <= metrics.ERROR_CODES, (where, value)


def test_every_alert_waits_has_a_severity_a_summary_and_a_runbook() -> None:
    rules = alert_rules()
    assert {r["alert"] for r in rules} >= {
        "DvcidSmsFailureRatioHigh", "DvcidDeadLettersGrowing", "DvcidConsumerLagHigh",
        "DvcidLoginFailureSpike", "DvcidGateway5xxRatioHigh"}
    for rule in rules:
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert len(rule["annotations"]["summary"]) > 20, rule["alert"]
        assert len(rule["annotations"]["runbook"]) > 20, rule["alert"]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["promtool", *args], cwd=FOLDER, capture_output=True, text=True,
                              timeout=60, check=False)
    except FileNotFoundError:
        pytest.fail("promtool is missing: sudo apt-get install -y prometheus "
                    "(.ci/system-packages installs it)")


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    checked = _promtool("check", "rules", "alerts.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = _promtool("test", "rules", "alerts.test.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_kubernetes_scrape_keeps_annotated_pods_and_names_jobs_by_service() -> None:
    config = yaml.safe_load((FOLDER / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yaml"]
    (job,) = config["scrape_configs"]
    relabel = {tuple(r["source_labels"]): r for r in job["relabel_configs"]}
    keep = relabel[("__meta_kubernetes_pod_annotation_prometheus_io_scrape",)]
    assert keep["action"] == "keep" and keep["regex"] == "true"
    named = relabel[("__meta_kubernetes_pod_label_app_kubernetes_io_name",)]
    assert named["target_label"] == "job"


def test_the_dev_stack_scrape_config_is_one_promtool_accepts(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(dev_prometheus_config({
        "otp": "http://127.0.0.1:9101/metrics", "otp-2": "http://127.0.0.1:9102/metrics",
        "gateway": "http://127.0.0.1:8000/metrics"}))
    checked = _promtool("check", "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    jobs = {job["job_name"]: job for job in yaml.safe_load(config.read_text())["scrape_configs"]}
    assert set(jobs) == {"otp", "gateway"}
    assert [t["labels"]["instance"] for t in jobs["otp"]["static_configs"]] == ["otp", "otp-2"]
