"""Session-wide fixtures: real NATS and MongoDB servers, started once per test session.

Order (ARCHITECTURE.md): ``DVCID_TEST_NATS_URL`` / ``DVCID_TEST_MONGO_URL`` if set; else
testcontainers when a Docker engine answers; else a local ``nats-server`` and SecantusDB.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dvcid import nats_auth, servers
from dvcid.nats_auth import Keyring


@dataclass(frozen=True)
class TestServers:
    nats_url: str
    mongo_url: str
    source: str
    # The seeds of the NATS permission map (dvcid/nats_auth.py) the local server runs under;
    # None for servers from the environment or containers (no map there).
    keyring: Keyring | None = None

    def nats_seed(self, identity: str) -> str | None:
        """The seed file an integration test connects with: a service's own identity for the
        service under test, ``test`` (everything) for shared/ integration tests and for the
        test's own client playing the other services."""
        return None if self.keyring is None else str(self.keyring.seed_file(identity))


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def test_servers(request: pytest.FixtureRequest) -> Iterator[TestServers]:
    nats_url = os.environ.get("DVCID_TEST_NATS_URL")
    mongo_url = os.environ.get("DVCID_TEST_MONGO_URL")
    if nats_url and mongo_url:
        yield _announce(request, TestServers(nats_url, mongo_url, "environment"))
        return
    if _docker_answers():
        with tempfile.TemporaryDirectory(prefix="dvcid-test-") as tmp:
            yield from _containers(request, Path(tmp))
        return
    with tempfile.TemporaryDirectory(prefix="dvcid-test-") as tmp:
        keyring = Keyring(Path(tmp) / "nats-keys", (*nats_auth.IDENTITIES, nats_auth.TEST))
        nats = servers.nats_command(Path(tmp) / "nats", servers.free_port(), servers.free_port(),
                                    keyring)
        mongo = servers.mongo_command(None, servers.free_port())
        procs: list[subprocess.Popen[bytes]] = []
        try:
            procs.append(servers.start(nats, Path(tmp) / "nats.log"))
            procs.append(servers.start(mongo, Path(tmp) / "mongo.log"))
            yield _announce(request, TestServers(nats.url, mongo.url,
                                                 "local nats-server + SecantusDB", keyring))
        finally:
            for proc in reversed(procs):
                servers.stop(proc)


def _containers(request: pytest.FixtureRequest, tmp: Path) -> Iterator[TestServers]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    # The same permission map as the local server: its config (public keys only) mounted in.
    keyring = Keyring(tmp / "nats-keys", (*nats_auth.IDENTITIES, nats_auth.TEST)).ensure()
    (tmp / "nats-conf").mkdir()
    nats_auth.write_server_config(tmp / "nats-conf" / "nats.conf", keyring)
    os.chmod(tmp, 0o755)
    nats = (DockerContainer("nats:2.11")
            .with_volume_mapping(str(tmp / "nats-conf"), "/etc/dvcid-nats", "ro")
            .with_command("-js -c /etc/dvcid-nats/nats.conf").with_exposed_ports(4222))
    # A single-node replica set: transactions (outbox, idempotency) need one.
    mongo = DockerContainer("mongo:8").with_command("--replSet rs0 --bind_ip_all").with_exposed_ports(27017)
    with nats, mongo:
        wait_for_logs(nats, "Server is ready")
        wait_for_logs(mongo, "Waiting for connections")
        mongo.exec(["mongosh", "--quiet", "--eval",
                    "rs.initiate({_id:'rs0',members:[{_id:0,host:'localhost:27017'}]})"])
        yield _announce(request, TestServers(
            f"nats://{nats.get_container_host_ip()}:{nats.get_exposed_port(4222)}",
            f"mongodb://{mongo.get_container_host_ip()}:{mongo.get_exposed_port(27017)}/?directConnection=true",
            "testcontainers (NATS, MongoDB)", keyring,
        ))


def _announce(request: pytest.FixtureRequest, found: TestServers) -> TestServers:
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    line = f"dvcid test servers: {found.source} (nats {found.nats_url}, mongo {found.mongo_url})"
    if reporter is not None:
        reporter.write_line(line)
    else:
        print(line)
    return found
