"""The production Kubernetes manifests (deploy/k8s) read as intended, without a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
CONFIG_MAP = "dvcid-config"


def manifest_files() -> list[Path]:
    return sorted(K8S.glob("*.yaml"))


def documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in manifest_files():
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None)
    return docs


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in documents() if doc.get("kind") == kind]


def deployments() -> list[dict[str, Any]]:
    return of_kind("Deployment")


def deployment_names() -> list[str]:
    return [d["metadata"]["name"] for d in deployments()]


def by_name(name: str) -> dict[str, Any]:
    return next(d for d in deployments() if d["metadata"]["name"] == name)


def test_every_document_parses_and_has_a_kind() -> None:
    assert manifest_files()
    for path in manifest_files():
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc is None or ("kind" in doc and "apiVersion" in doc), path


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in manifest_files()} - {"kustomization.yaml"}


def test_the_config_map_sets_production() -> None:
    config = next(c for c in of_kind("ConfigMap") if c["metadata"]["name"] == CONFIG_MAP)
    assert config["data"]["DVCID_ENV"] == "production"
    assert "DVCID_SANDBOX_URL" not in config["data"]


def test_no_manifest_mentions_the_sandbox_or_dev_defaults() -> None:
    for path in manifest_files():
        text = path.read_text().lower()
        assert "sandbox" not in text, path
        assert "dev-insecure" not in text, path


def test_secret_template_holds_only_placeholders() -> None:
    for secret in of_kind("Secret"):
        for key, value in secret["stringData"].items():
            assert "CHANGE-ME" in value or key == "MONGO_INITDB_ROOT_USERNAME", key


def test_the_expected_deployments_exist() -> None:
    assert set(deployment_names()) == {"otp", "registration", "pki", "profile", "gateway"}
    assert by_name("gateway")["spec"]["replicas"] == 3


@pytest.mark.parametrize("name", ["otp", "registration", "pki", "profile", "gateway"])
def test_deployment_runs_its_service_in_production(name: str) -> None:
    pod = by_name(name)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", f"services.{name}"]
    assert (ROOT / "services" / name / "__main__.py").is_file()
    sources = [s.get("configMapRef", {}).get("name") for s in container.get("envFrom", [])]
    assert CONFIG_MAP in sources
    # Nothing overrides the ConfigMap's DVCID_ENV.
    assert all(e["name"] != "DVCID_ENV" for e in container.get("env", []))


@pytest.mark.parametrize("name", ["otp", "registration", "pki", "profile", "gateway"])
def test_deployment_has_resources_and_runs_as_non_root(name: str) -> None:
    pod = by_name(name)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["resources"]["requests"]["memory"]
    assert container["resources"]["limits"]["memory"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert isinstance(pod["securityContext"]["runAsUser"], int)
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_every_pod_of_every_workload_is_non_root() -> None:
    workloads = [*of_kind("Deployment"), *of_kind("StatefulSet"), *of_kind("Job")]
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, workload["metadata"]["name"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            assert container["resources"]["limits"]["memory"], container["name"]


def test_argon2_services_have_memory_headroom() -> None:
    for name in ("registration", "profile"):
        (container,) = by_name(name)["spec"]["template"]["spec"]["containers"]
        limit = container["resources"]["limits"]["memory"]
        assert limit.endswith("Mi") and int(limit[:-2]) >= 1024, name


def test_pki_mounts_the_trust_anchors_it_is_configured_with() -> None:
    config = next(c for c in of_kind("ConfigMap") if c["metadata"]["name"] == CONFIG_MAP)
    files = config["data"]["DVCID_TRUST_ANCHOR_FILES"].split(",")
    (container,) = by_name("pki")["spec"]["template"]["spec"]["containers"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert all(str(Path(f).parent) in mounts for f in files)


def test_stateful_backends_are_three_replica_clusters() -> None:
    sets = {s["metadata"]["name"]: s for s in of_kind("StatefulSet")}
    assert sets["nats"]["spec"]["replicas"] == 3
    assert sets["mongo"]["spec"]["replicas"] == 3
    assert sets["nats"]["spec"]["volumeClaimTemplates"]


def test_gateway_and_profile_autoscale_and_everything_has_a_disruption_budget() -> None:
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind("HorizontalPodAutoscaler")}
    assert scaled == {"gateway", "profile"}
    budgeted = {p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
                for p in of_kind("PodDisruptionBudget")}
    assert budgeted >= {*deployment_names(), "nats", "mongo"}


@pytest.mark.parametrize("name", ["otp", "registration", "pki", "profile", "gateway"])
def test_each_service_accepts_the_production_configuration(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ConfigMap plus filled-in Secrets pass the service's production checks."""
    import importlib

    config = next(c for c in of_kind("ConfigMap") if c["metadata"]["name"] == CONFIG_MAP)
    secrets = next(s for s in of_kind("Secret") if s["metadata"]["name"] == "dvcid-secrets")
    for key, value in config["data"].items():
        monkeypatch.setenv(key, value)
    for key, value in secrets["stringData"].items():
        monkeypatch.setenv(key, value.replace("CHANGE-ME", "filled-in-by-operator"))
    module = importlib.import_module(f"services.{name}.config")
    settings_class = next(
        cls for attr, cls in vars(module).items()
        if attr.endswith("Settings") and cls.__module__ == module.__name__
    )
    settings = settings_class()
    assert settings.env == "production"
