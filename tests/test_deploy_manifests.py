"""The production Kubernetes manifests (deploy/k8s) read as intended, without a cluster."""

from __future__ import annotations

import re
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
    assert set(deployment_names()) == {"otp", "registration", "pki", "profile", "oidc", "gateway"}
    assert by_name("gateway")["spec"]["replicas"] == 3


@pytest.mark.parametrize("name", ["otp", "registration", "pki", "profile", "oidc", "gateway"])
def test_deployment_runs_its_service_in_production(name: str) -> None:
    pod = by_name(name)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", f"services.{name}"]
    assert (ROOT / "services" / name / "__main__.py").is_file()
    sources = [s.get("configMapRef", {}).get("name") for s in container.get("envFrom", [])]
    assert CONFIG_MAP in sources
    # Nothing overrides the ConfigMap's DVCID_ENV.
    assert all(e["name"] != "DVCID_ENV" for e in container.get("env", []))


@pytest.mark.parametrize("name", ["otp", "registration", "pki", "profile", "oidc", "gateway"])
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


@pytest.mark.parametrize("name", ["otp", "registration", "pki", "profile", "oidc", "gateway"])
def test_each_service_accepts_the_production_configuration(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ConfigMap plus the service's own Secret, each value filled in with its own random
    key as deploy/README.md says, pass the service's production checks."""
    import secrets

    config = next(c for c in of_kind("ConfigMap") if c["metadata"]["name"] == CONFIG_MAP)
    for key, value in config["data"].items():
        monkeypatch.setenv(key, value)
    for key, value in own_secret(name)["stringData"].items():
        monkeypatch.setenv(key, value.replace("CHANGE-ME", secrets.token_urlsafe(32)))
    settings = settings_class(name)()
    assert settings.env == "production"


def settings_class(name: str) -> Any:
    import importlib

    module = importlib.import_module(f"services.{name}.config")
    return next(
        cls for attr, cls in vars(module).items()
        if attr.endswith("Settings") and cls.__module__ == module.__name__
    )


def own_secret(name: str) -> dict[str, Any]:
    """The Secret of a service's own keys and credentials (secret.yaml)."""
    return next(s for s in of_kind("Secret") if s["metadata"]["name"] == f"dvcid-{name}-secrets")


# -- NATS identities and per-instance liveness (issue 11) -------------------------------------
BUS_SERVICES = ["otp", "registration", "pki", "profile", "oidc"]


def _nats_config() -> str:
    config = next(c for c in of_kind("ConfigMap") if c["metadata"]["name"] == "nats-config")
    return str(config["data"]["nats.conf"])


def test_nats_admits_only_the_identities_of_the_permission_map() -> None:
    from dvcid.nats_auth import placeholder_keys, render_authorization

    conf = _nats_config()
    assert 'include "authorization/authorization.conf"' in conf
    assert "token" not in conf and "no_auth_user" not in conf
    authorization = next(c for c in of_kind("ConfigMap")
                         if c["metadata"]["name"] == "nats-authorization")
    # The template is the code's map (regenerate with `dvcid nats-keys` when it changes).
    assert authorization["data"]["authorization.conf"] == render_authorization(placeholder_keys())
    (nats,) = [s for s in of_kind("StatefulSet") if s["metadata"]["name"] == "nats"]
    pod = nats["spec"]["template"]["spec"]
    mounted = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounted["authorization"] == "/etc/nats/authorization"
    sources = {v["name"]: v.get("configMap", {}).get("name") for v in pod["volumes"]}
    assert sources["authorization"] == "nats-authorization"


@pytest.mark.parametrize("name", [*BUS_SERVICES, "gateway"])
def test_each_pod_mounts_its_own_nats_identity_and_no_other(name: str) -> None:
    pod = by_name(name)["spec"]["template"]["spec"]
    secrets = [v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v]
    assert [s for s in secrets if s.startswith("dvcid-nats-")] == [f"dvcid-nats-{name}"]
    (container,) = pod["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    config = next(c for c in of_kind("ConfigMap") if c["metadata"]["name"] == CONFIG_MAP)
    seed = config["data"]["DVCID_NATS_NKEY_SEED_FILE"]
    assert str(Path(seed).parent) == mounts["nats-identity"]
    nats_identity = next(v for v in pod["volumes"] if v["name"] == "nats-identity")
    # Readable by the pod's group only: fsGroup owns the mounted files.
    assert nats_identity["secret"]["defaultMode"] == 0o440
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]
    identity_secret = next(s for s in of_kind("Secret")
                           if s["metadata"]["name"] == f"dvcid-nats-{name}")
    assert Path(seed).name in identity_secret["stringData"]


def test_no_nats_credentials_in_any_url_and_no_operator_seed_in_the_cluster() -> None:
    config = next(c for c in of_kind("ConfigMap") if c["metadata"]["name"] == CONFIG_MAP)
    assert "@" not in config["data"]["DVCID_NATS_URL"]
    names = {s["metadata"]["name"] for s in of_kind("Secret")}
    assert "dvcid-nats-operator" not in names
    for secret in of_kind("Secret"):
        assert "DVCID_NATS_URL" not in secret["stringData"]


@pytest.mark.parametrize("name", BUS_SERVICES)
def test_bus_services_are_probed_on_their_own_heartbeat(name: str) -> None:
    (container,) = by_name(name)["spec"]["template"]["spec"]["containers"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["exec"]["command"] == [
            "python", "-m", f"services.{name}", "--check"], probe
        # Python's start-up plus the settings: more than the default second.
        assert container[probe]["timeoutSeconds"] >= 3
    # The heartbeat is written under /tmp, a writable volume of a read-only root filesystem.
    assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}


def test_compose_runs_nats_under_the_map_with_one_identity_per_process() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["nats"]["command"] == ["-c", "/etc/nats/nats.conf"]
    conf = (ROOT / "deploy" / "compose" / "nats.conf").read_text()
    assert 'include "keys/authorization.conf"' in conf and "token" not in conf
    sources = []
    for name in [*BUS_SERVICES, "gateway"]:
        (secret,) = services[name]["secrets"]
        assert secret == {"source": f"nats_{name}", "target": "nats_identity"}
        sources.append(compose["secrets"][secret["source"]]["file"])
    assert sources == [f"./.compose/nats-keys/{n}.nk" for n in [*BUS_SERVICES, "gateway"]]
    assert "nats_operator" not in compose["secrets"]


# -- Secrets of their own, TLS, network policies, a database user per service (issue 11) ------
SERVICES = ["otp", "registration", "pki", "profile", "oidc", "gateway"]
DATA_SERVICES = ["otp", "registration", "pki", "profile", "oidc"]  # the gateway holds no database


def config_map(name: str = CONFIG_MAP) -> dict[str, Any]:
    return next(c for c in of_kind("ConfigMap") if c["metadata"]["name"] == name)


def secret_named(name: str) -> dict[str, Any]:
    return next(s for s in of_kind("Secret") if s["metadata"]["name"] == name)


def secret_settings(name: str) -> dict[str, Any]:
    """The service's settings that are secrets (shared.settings: *_secret, *_token, ...)."""
    from shared.settings import CREDENTIAL_SUFFIXES, KEY_SUFFIXES

    fields = settings_class(name).model_fields
    return {f: info for f, info in fields.items() if f.endswith(KEY_SUFFIXES + CREDENTIAL_SUFFIXES)}


@pytest.mark.parametrize("name", SERVICES)
def test_each_pod_reads_its_own_secret_and_no_other(name: str) -> None:
    (container,) = by_name(name)["spec"]["template"]["spec"]["containers"]
    secret_refs = [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s]
    assert secret_refs == [f"dvcid-{name}-secrets"]
    keys = set(own_secret(name)["stringData"])
    # Nothing in it the service does not read ...
    known = {f"DVCID_{field.upper()}" for field in settings_class(name).model_fields}
    assert keys <= known, keys - known
    # ... and every secret it has a (development) default for, so production gets a real one.
    needed = {f"DVCID_{f.upper()}" for f, info in secret_settings(name).items()
              if isinstance(info.default, str)}
    assert needed <= keys, needed - keys


def test_no_secret_lives_in_the_config_map() -> None:
    from shared.settings import CREDENTIAL_SUFFIXES, KEY_SUFFIXES

    suffixes = tuple(s.upper() for s in KEY_SUFFIXES + CREDENTIAL_SUFFIXES)
    for key, value in config_map()["data"].items():
        assert not key.endswith(suffixes), key
        assert "@" not in str(value) or not str(value).startswith(("nats", "tls", "mongodb")), key


@pytest.mark.parametrize("name", SERVICES)
def test_the_template_as_shipped_is_refused_naming_each_placeholder(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError

    for key, value in config_map()["data"].items():
        monkeypatch.setenv(key, value)
    for key, value in own_secret(name)["stringData"].items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError) as refused:
        settings_class(name)()
    for key, value in own_secret(name)["stringData"].items():
        if "CHANGE-ME" in value:
            assert key in str(refused.value), key


def test_clients_reach_nats_over_tls_checked_against_the_mounted_ca() -> None:
    from urllib.parse import urlsplit

    data = config_map()["data"]
    url = urlsplit(data["DVCID_NATS_URL"])
    assert url.scheme == "tls"
    certificate = next(c for c in of_kind("Certificate") if c["metadata"]["name"] == "nats-tls")
    assert url.hostname in certificate["spec"]["dnsNames"]
    assert {"server auth", "client auth"} <= set(certificate["spec"]["usages"])
    ca_dir = str(Path(data["DVCID_NATS_TLS_CA"]).parent)
    for name in SERVICES:
        pod = by_name(name)["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts["nats-ca"] == ca_dir, name
        volume = next(v for v in pod["volumes"] if v["name"] == "nats-ca")
        # The CA certificate alone: the servers' private key is never in a service's pod.
        assert volume["secret"] == {"secretName": certificate["spec"]["secretName"],
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}]}, name


def _nats_pod() -> dict[str, Any]:
    (nats,) = [s for s in of_kind("StatefulSet") if s["metadata"]["name"] == "nats"]
    return dict(nats["spec"]["template"]["spec"])


def test_nats_requires_tls_of_clients_and_mutual_tls_and_a_password_of_routes() -> None:
    conf = _nats_config()
    client_tls, cluster = conf.split("cluster {", 1)
    assert "tls {" in client_tls and "handshake_first: true" in client_tls
    assert "tls {" in cluster and "verify: true" in cluster
    assert 'include "../nats-routes/routes.conf"' in cluster
    assert "routes:" not in cluster  # the route URLs carry the password: in the Secret
    routes = secret_named("nats-routes")["stringData"]["routes.conf"]
    assert re.search(r"authorization \{ user: route, password: \"CHANGE-ME\" \}", routes)
    route_urls = re.findall(r'"(nats://[^"]+)"', routes)
    assert len(route_urls) == 3
    assert all(u.startswith("nats://route:CHANGE-ME@nats-") for u in route_urls)
    certificate = next(c for c in of_kind("Certificate") if c["metadata"]["name"] == "nats-tls")
    assert "*.nats-headless.dvcid.svc.cluster.local" in certificate["spec"]["dnsNames"]
    pod = _nats_pod()
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v.get("secret", {}).get("secretName") for v in pod["volumes"]}
    assert (mounts["tls"], volumes["tls"]) == ("/etc/nats-tls", "nats-tls")
    assert (mounts["routes"], volumes["routes"]) == ("/etc/nats-routes", "nats-routes")
    assert all(f"/etc/nats-tls/{f}" in conf for f in ("tls.crt", "tls.key", "ca.crt"))


def test_nats_config_is_one_nats_server_accepts(tmp_path: Path) -> None:
    """The ConfigMap's nats.conf, with the Secrets' files in place of the mounted ones,
    passes ``nats-server -t`` (syntax, includes, certificates)."""
    import os
    import subprocess

    from dvcid.servers import _bin
    from shared.tests.tls_files import write_ca_and_server_certificate

    write_ca_and_server_certificate(tmp_path / "nats-tls")
    (tmp_path / "nats-routes").mkdir()
    routes = secret_named("nats-routes")["stringData"]["routes.conf"]
    (tmp_path / "nats-routes" / "routes.conf").write_text(
        routes.replace("CHANGE-ME", "Xk2lP9aQ0wE7rT4yU6iO8pA1sD3fG5hJ7kL9zX"))
    conf_dir = tmp_path / "nats"
    (conf_dir / "authorization").mkdir(parents=True)
    # The permission map with real public keys, as `dvcid nats-keys` makes it for the
    # nats-authorization ConfigMap (the template's keys are placeholders).
    from dvcid.nats_auth import Keyring, render_authorization

    authorization = render_authorization(Keyring(tmp_path / "keys").ensure().public)
    (conf_dir / "authorization" / "authorization.conf").write_text(authorization)
    conf = (_nats_config().replace("/etc/nats-tls/", f"{tmp_path}/nats-tls/")
            .replace("store_dir: /data", f"store_dir: {tmp_path}/data"))
    (conf_dir / "nats.conf").write_text(conf)
    checked = subprocess.run([_bin("nats-server"), "-t", "-c", str(conf_dir / "nats.conf")],
                             env={**os.environ, "POD_NAME": "nats-0"}, capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr + checked.stdout


def test_the_nats_monitoring_port_is_not_exposed() -> None:
    assert re.search(r"^\s*http: 127\.0\.0\.1:8222$", _nats_config(), re.MULTILINE)
    for service in of_kind("Service"):
        assert all(p["port"] != 8222 for p in service["spec"]["ports"]), service["metadata"]
    container = _nats_pod()["containers"][0]
    assert all(p["containerPort"] != 8222 for p in container["ports"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        command = container[probe]["exec"]["command"]
        assert command[0] == "wget" and command[-1].startswith("http://127.0.0.1:8222/")


def _policy(name: str) -> dict[str, Any]:
    return next(p for p in of_kind("NetworkPolicy") if p["metadata"]["name"] == name)


def _selected_names(peer: dict[str, Any]) -> set[str]:
    selector = peer["podSelector"]
    if "matchLabels" in selector:
        return {selector["matchLabels"]["app.kubernetes.io/name"]}
    (expression,) = selector["matchExpressions"]
    assert (expression["key"], expression["operator"]) == ("app.kubernetes.io/name", "In")
    return set(expression["values"])


def _admitted(policy: str, port: int) -> set[str]:
    names: set[str] = set()
    for rule in _policy(policy)["spec"]["ingress"]:
        if any(p["port"] == port for p in rule["ports"]):
            for peer in rule["from"]:
                assert "namespaceSelector" not in peer  # this namespace's pods only
                names |= _selected_names(peer)
    return names


def test_the_namespace_denies_every_connection_not_allowed() -> None:
    deny = _policy("default-deny")["spec"]
    assert deny["podSelector"] == {} and "Ingress" in deny["policyTypes"]
    assert "ingress" not in deny


def test_only_dvcid_pods_reach_nats_and_only_nats_its_routes() -> None:
    assert _admitted("nats", 4222) == set(SERVICES)
    assert _admitted("nats", 6222) == {"nats"}
    assert {"Ingress", "Egress"} <= set(_policy("nats")["spec"]["policyTypes"])


def test_only_the_services_that_keep_data_reach_mongodb() -> None:
    assert _admitted("mongo", 27017) == {*DATA_SERVICES, "mongo-init", "mongo"}
    assert {"Ingress", "Egress"} <= set(_policy("mongo")["spec"]["policyTypes"])


def test_the_policies_select_the_pods_they_name() -> None:
    labels = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
              for d in [*of_kind("Deployment"), *of_kind("StatefulSet"), *of_kind("Job")]}
    names = {n["app.kubernetes.io/name"] for n in labels.values()}
    assert {*SERVICES, "nats", "mongo", "mongo-init"} <= names


def test_one_mongodb_user_per_service_with_its_own_database_only() -> None:
    from urllib.parse import parse_qs, urlsplit

    users = secret_named("mongo-users")["stringData"]
    assert set(users) == {f"MONGO_{s.upper()}_PASSWORD" for s in DATA_SERVICES}
    prefix = config_map()["data"]["DVCID_DB_PREFIX"]
    for name in DATA_SERVICES:
        url = urlsplit(own_secret(name)["stringData"]["DVCID_MONGO_URL"])
        assert url.username == name
        assert url.path == f"/{prefix}_{name}"
        assert parse_qs(url.query)["authSource"] == [f"{prefix}_{name}"]
    assert "DVCID_MONGO_URL" not in own_secret("gateway")["stringData"]
    (job,) = of_kind("Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert {"secretRef": {"name": "mongo-users"}} in container["envFrom"]
    script = "\n".join(container["args"])
    table = dict(re.findall(r'^\s*(\w+): "(MONGO_\w+_PASSWORD)",$', script, re.MULTILINE))
    assert table == {s: f"MONGO_{s.upper()}_PASSWORD" for s in DATA_SERVICES}
    assert re.findall(r'role: "(\w+)"', script) == ["readWrite"]
    assert 'db: `dvcid_${service}`' in script and 'getSiblingDB(`dvcid_${service}`)' in script
    assert "AnyDatabase" not in script and "dbOwner" not in script
    assert 'dropUser("dvcid")' in script


def test_compose_is_coherent_and_names_its_environment() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith(".") or source in compose["volumes"], (name, volume)
        for port in service.get("ports", []):
            # Published on the machine's loopback only (dev): not to the local network.
            assert str(port).startswith("127.0.0.1:"), (name, port)
            assert not str(port).endswith(":8222") or name == "nats"
        if "build" not in service:
            continue
        assert (ROOT / service["build"]["dockerfile"]).is_file()
        # The image chooses no environment (DVCID_IMAGE=1): compose says dev, every time.
        assert service["environment"]["DVCID_ENV"] == "dev", name
        command = service["command"]
        assert command[:2] == ["python", "-m"], name
        assert (ROOT / Path(*command[2].split(".")) / "__main__.py").is_file(), name
