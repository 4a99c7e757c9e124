"""Each bus service answers for its own instance: the heartbeat its event loop writes, read by
``python -m services.<name> --check`` (the Kubernetes probes), fails when THAT instance is
stuck, whatever the other instances or a `$SRV.PING` would say."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from dvcid.devstack import SERVICES, DevStack

pytestmark = pytest.mark.e2e


def _check(stack: DevStack, service: str, max_age: float = 30.0) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DVCID_HEARTBEAT_FILE": str(stack.home / "run" / f"{service}.alive"),
                        "DVCID_HEARTBEAT_MAX_AGE_SECONDS": str(max_age), "DVCID_ENV": "test"}
    return subprocess.run([sys.executable, "-m", f"services.{service}", "--check"], env=env,
                          capture_output=True, text=True, timeout=30, check=False)


def _eventually(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.5)


@pytest.mark.parametrize("service", SERVICES)
def test_a_running_instance_is_alive(stack: DevStack, service: str) -> None:
    done = _check(stack, service)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{service}: alive"


def test_a_frozen_instance_is_not_alive_and_recovers(stack: DevStack) -> None:
    proc = stack.processes["pki"].proc
    assert proc is not None
    os.kill(proc.pid, signal.SIGSTOP)  # its event loop stops: no beat, though NATS is fine
    try:
        _eventually(lambda: _check(stack, "pki", max_age=4).returncode == 1, 20)
        failed = _check(stack, "pki", max_age=4)
        assert "heartbeat" in failed.stderr and "old" in failed.stderr
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    _eventually(lambda: _check(stack, "pki", max_age=4).returncode == 0, 20)
