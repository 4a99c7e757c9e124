"""Each instance's heartbeat: written only while healthy, read by ``--check``."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from shared.liveness import Heartbeat, check, exit_if_check, heartbeat_path


def test_a_healthy_instance_beats_and_the_check_passes(tmp_path: Path) -> None:
    path = tmp_path / "otp.alive"
    assert Heartbeat(path, [lambda: None]).beat() is True
    assert check(path, max_age=30) is None


def test_an_unhealthy_instance_withholds_its_beat(tmp_path: Path) -> None:
    path = tmp_path / "otp.alive"
    assert Heartbeat(path, [lambda: None, lambda: "nats disconnected"]).beat() is False
    assert check(path) == f"no heartbeat at {path}"


def test_an_old_beat_fails_the_check(tmp_path: Path) -> None:
    path = tmp_path / "otp.alive"
    Heartbeat(path, []).beat()
    old = time.time() - 31
    os.utime(path, (old, old))
    problem = check(path, max_age=30)
    assert problem is not None and "old" in problem


def test_the_default_file_is_per_service() -> None:
    assert heartbeat_path("otp").name == "dvcid-otp.alive"
    assert heartbeat_path("otp", "/run/x.alive") == Path("/run/x.alive")


def test_the_check_command_exits_with_the_instances_state(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "pki.alive"
    monkeypatch.setenv("DVCID_HEARTBEAT_FILE", str(path))
    with pytest.raises(SystemExit) as missing:
        exit_if_check("pki", ["--check"])
    assert missing.value.code == 1
    Heartbeat(path, []).beat()
    with pytest.raises(SystemExit) as alive:
        exit_if_check("pki", ["--check"])
    assert alive.value.code == 0
    exit_if_check("pki", [])  # no --check: the service starts as usual


async def test_a_stopped_heartbeat_removes_its_file(tmp_path: Path) -> None:
    path = tmp_path / "profile.alive"
    task = asyncio.create_task(Heartbeat(path, [], interval=0.01).run())
    await asyncio.sleep(0.05)
    assert path.exists()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not path.exists()
