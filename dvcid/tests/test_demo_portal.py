"""`dvcid dev`'s demo portal registration (dvcid/demo_portal.py) with a fake `dvcid admin
create-client`: the secret lands in a 0600 file and nowhere else, a restart on the same URIs
registers nothing, another port registers anew; the portal's environment names the file."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dvcid import demo_portal
from dvcid.devstack import DevStack, Ports

PORTAL = "http://127.0.0.1:8300"


class FakeCreateClient:
    def __init__(self, returncode: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.returncode = returncode

    def __call__(self, argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        n = len(self.calls)
        return subprocess.CompletedProcess(
            argv, self.returncode,
            stdout=f"client_id: dvc-{n}\ntoken_endpoint_auth_method: client_secret_basic\n"
                   f"client_secret: s3cret-{n}\n",
            stderr="The client secret is shown once\n")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeCreateClient:
    fake = FakeCreateClient()
    monkeypatch.setattr(demo_portal.subprocess, "run", fake)
    return fake


def test_registered_once_with_its_uris_and_the_secret_in_a_private_file(
        tmp_path: Path, fake: FakeCreateClient) -> None:
    log = tmp_path / "registration.log"
    first = demo_portal.register(tmp_path / "portal", PORTAL, {}, log)
    argv = fake.calls[0]
    assert argv[argv.index("--redirect-uri") + 1] == f"{PORTAL}/callback"
    assert argv[argv.index("--post-logout-redirect-uri") + 1] == f"{PORTAL}/"
    assert argv[argv.index("--backchannel-logout-uri") + 1] == f"{PORTAL}/backchannel-logout"
    assert first.client_id == "dvc-1"
    assert first.secret_file.read_text().strip() == "s3cret-1"
    assert stat.S_IMODE(first.secret_file.stat().st_mode) == 0o600
    assert "s3cret" not in log.read_text()
    assert "s3cret" not in (tmp_path / "portal" / "client.json").read_text()

    again = demo_portal.register(tmp_path / "portal", PORTAL, {}, log)
    assert again == first and len(fake.calls) == 1  # a restart: nothing registered

    moved = demo_portal.register(tmp_path / "portal", "http://127.0.0.1:8301", {}, log)
    assert moved.client_id == "dvc-2" and len(fake.calls) == 2


def test_a_refused_registration_stops_the_start(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_portal.subprocess, "run", FakeCreateClient(returncode=3))
    with pytest.raises(RuntimeError, match="create-client failed"):
        demo_portal.register(tmp_path, PORTAL, {}, tmp_path / "log")
    assert not (tmp_path / "client-secret").exists()


def test_the_portal_points_at_dvcid_unless_told_otherwise(tmp_path: Path) -> None:
    registration = demo_portal.Registration("dvc-1", tmp_path / "client-secret")
    env = demo_portal.portal_env({}, registration, port=8300, portal_url=PORTAL,
                                 issuer="http://127.0.0.1:8000")
    assert env["DVCID_DEMO_PORTAL_ISSUER"] == "http://127.0.0.1:8000"
    assert env["DVCID_DEMO_PORTAL_CLIENT_ID"] == "dvc-1"
    assert env["DVCID_DEMO_PORTAL_CLIENT_SECRET_FILE"] == str(tmp_path / "client-secret")
    assert not any("s3cret" in value for value in env.values())
    vneid = demo_portal.portal_env({"DVCID_DEMO_PORTAL_ISSUER": "http://127.0.0.1:8100/vneid"},
                                   registration, port=8300, portal_url=PORTAL,
                                   issuer="http://127.0.0.1:8000")
    assert vneid["DVCID_DEMO_PORTAL_ISSUER"].endswith("/vneid")
    assert "DVCID_DEMO_PORTAL_CLIENT_ID" not in vneid


def test_the_portal_port_in_dev_and_in_tests(tmp_path: Path) -> None:
    assert Ports().demo_portal == 8300
    assert DevStack(tmp_path).demo_portal_url == "http://127.0.0.1:8300"
    assert Ports.free().demo_portal not in (0, 8300)
