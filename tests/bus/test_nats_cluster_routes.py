"""The production NATS configuration (deploy/k8s: the nats-config ConfigMap, the nats-routes
Secret) run for real on this machine: its servers join over mutual TLS with the route
password, and a server without the password, or without a certificate of the CA, does not
join the cluster (and so never sees its streams)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dvcid.nats_auth import Keyring, render_authorization
from dvcid.servers import _bin, free_port, stop, wait_for_port
from shared.tests.tls_files import write_ca_and_server_certificate

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Xk2lP9aQ0wE7rT4yU6iO8pA1sD3fG5hJ7kL9zX"


def _manifest(kind: str, name: str) -> dict[str, Any]:
    for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == kind and doc["metadata"]["name"] == name:
                return dict(doc)
    raise LookupError(name)


class Node:
    def __init__(self, root: Path, name: str, tls_dir: Path, authorization: str) -> None:
        self.name, self.client, self.cluster, self.monitor = name, free_port(), free_port(), free_port()
        self.home = root / name
        (self.home / "nats" / "authorization").mkdir(parents=True)
        (self.home / "nats" / "authorization" / "authorization.conf").write_text(authorization)
        (self.home / "nats-routes").mkdir()
        config = str(_manifest("ConfigMap", "nats-config")["data"]["nats.conf"])
        self.conf = (config.replace("/etc/nats-tls/", f"{tls_dir}/")
                     .replace("store_dir: /data", f"store_dir: {self.home}/data")
                     .replace("listen: 0.0.0.0:4222", f"listen: 127.0.0.1:{self.client}")
                     .replace("listen: 0.0.0.0:6222", f"listen: 127.0.0.1:{self.cluster}")
                     .replace("http: 127.0.0.1:8222", f"http: 127.0.0.1:{self.monitor}"))
        (self.home / "nats" / "nats.conf").write_text(self.conf)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, routes_conf: str) -> None:
        (self.home / "nats-routes" / "routes.conf").write_text(routes_conf)
        self.proc = subprocess.Popen(
            [_bin("nats-server"), "-c", str(self.home / "nats" / "nats.conf")],
            env={**os.environ, "POD_NAME": self.name},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.monitor, proc=self.proc)

    def routes(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor}/routez", timeout=5) as r:
            return int(json.load(r)["num_routes"])


def routes_conf(nodes: list[Node], password: str) -> str:
    """The nats-routes Secret's routes.conf, its hosts pointed at this machine's nodes."""
    template = str(_manifest("Secret", "nats-routes")["stringData"]["routes.conf"])
    head, _, _ = template.partition("routes: [")
    urls = "\n".join(f'  "nats://route:{password}@localhost:{n.cluster}"' for n in nodes)
    return head.replace("CHANGE-ME", password) + f"routes: [\n{urls}\n]\n"


def settled_routes(nodes: list[Node], quiet: float = 1.5, timeout: float = 15.0) -> list[int]:
    """Each node's route count once it has stopped changing for ``quiet`` seconds: a route
    pool (NATS 2.10+) grows after its first connection, and a count read while it grows would
    pass for an intruder's route (seen in CI: 2 per node, then 4)."""
    counts = [n.routes() for n in nodes]
    stable_since = time.monotonic()
    deadline = stable_since + timeout
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = [n.routes() for n in nodes]
        if now != counts:
            counts, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= quiet:
            return counts
    raise AssertionError(f"route counts never settled: {counts}")


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Path, str, list[Node]]]:
    tls = tmp_path / "tls"
    write_ca_and_server_certificate(tls)
    authorization = render_authorization(Keyring(tmp_path / "keys").ensure().public)
    nodes = [Node(tmp_path, f"nats-{i}", tls, authorization) for i in range(2)]
    try:
        for node in nodes:
            node.start(routes_conf(nodes, PASSWORD))
        yield tmp_path, authorization, nodes
    finally:
        for node in nodes:
            if node.proc is not None:
                stop(node.proc)


def test_the_servers_join_over_mutual_tls_with_the_route_password(
    cluster: tuple[Path, str, list[Node]],
) -> None:
    _, _, nodes = cluster
    assert wait_for(lambda: all(n.routes() >= 1 for n in nodes)), [n.routes() for n in nodes]


def _intruder(cluster: tuple[Path, str, list[Node]], tls_dir: Path, password: str) -> Node:
    root, authorization, nodes = cluster
    intruder = Node(root, "intruder", tls_dir, authorization)
    intruder.start(routes_conf(nodes, password))
    return intruder


def test_a_server_without_the_route_password_does_not_join(
    cluster: tuple[Path, str, list[Node]],
) -> None:
    root, _, nodes = cluster
    assert wait_for(lambda: all(n.routes() >= 1 for n in nodes))
    before = settled_routes(nodes)  # a route pool per peer (NATS 2.10+)
    # Same CA, same certificate: only the password differs.
    intruder = _intruder(cluster, root / "tls", "Wr0ngPassw0rdGu3ssedByAnIntruderXq")
    try:
        time.sleep(3)
        assert intruder.routes() == 0
        assert [n.routes() for n in nodes] == before
    finally:
        assert intruder.proc is not None
        stop(intruder.proc)


def test_a_server_with_the_password_but_another_ca_does_not_join(
    cluster: tuple[Path, str, list[Node]],
) -> None:
    root, _, nodes = cluster
    assert wait_for(lambda: all(n.routes() >= 1 for n in nodes))
    before = settled_routes(nodes)
    other = root / "other-tls"
    write_ca_and_server_certificate(other, ca_name="someone else's CA")
    intruder = _intruder(cluster, other, PASSWORD)
    try:
        time.sleep(3)
        assert intruder.routes() == 0
        assert [n.routes() for n in nodes] == before
    finally:
        assert intruder.proc is not None
        stop(intruder.proc)
