"""A real sandbox world (with its CA) on 127.0.0.1 for the pki tests: validation fetches the
CRL and OCSP answers over real HTTP, as in production."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from dvcid.servers import free_port
from sandbox.app import create_app
from sandbox.ca import SandboxCA
from sandbox.config import SandboxSettings


@dataclass
class RunningSandbox:
    url: str
    app: FastAPI
    ca_dir: Path

    @property
    def ca(self) -> SandboxCA:
        ca: SandboxCA = self.app.state.ca
        return ca

    def issue(self, **fields: object) -> dict[str, str]:
        body = {"subject_type": "citizen", "id_number": "001090001234",
                "full_name": "Nguyễn Văn An", "key_type": "ec", **fields}
        response = httpx.post(f"{self.url}/dev/certificates", json=body, timeout=10)
        assert response.status_code == 201, response.text
        data: dict[str, str] = response.json()
        return data

    def revoke(self, serial: str) -> None:
        response = httpx.post(f"{self.url}/dev/certificates/{serial}/revoke", timeout=10)
        assert response.status_code == 200, response.text


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    port = free_port()
    ca_dir = tmp_path_factory.mktemp("sandbox-ca")
    settings = SandboxSettings(sandbox_port=port, sandbox_ca_dir=ca_dir,
                               sandbox_sim_timeout_seconds=1.5)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="pki-test-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "sandbox did not start"
        time.sleep(0.02)
    yield RunningSandbox(f"http://127.0.0.1:{port}", app, ca_dir)
    server.should_exit = True
    thread.join(5)
