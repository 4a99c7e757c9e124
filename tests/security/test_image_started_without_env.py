"""Attack: the container image run without DVCID_ENV (a pod whose ConfigMap was not mounted,
a `docker run` by hand). If the image defaulted to dev it would start with the development
keys every reader of the repository knows, and with the sandbox's relaxed rules; if it
defaulted to production silently, a dev compose file forgetting the setting would hide it.

The control: the image sets DVCID_IMAGE=1 and no DVCID_ENV (deploy/Dockerfile); every
process started in it refuses to start until DVCID_ENV says which environment it is in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dvcid.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def image_env() -> dict[str, str]:
    """The environment the Dockerfile gives a container: its ENV lines, nothing else of dvcid."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVCID_")}
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("ENV "):
            name, _, value = line.removeprefix("ENV ").partition("=")
            env[name.strip()] = value.strip()
    # Nothing listens here: a process that wrongly starts fails later, elsewhere.
    env["DVCID_NATS_URL"] = f"nats://127.0.0.1:{free_port()}"
    env["DVCID_GATEWAY_PORT"] = str(free_port())
    return env


def test_the_image_does_not_choose_an_environment() -> None:
    env = image_env()
    assert env.get("DVCID_IMAGE") == "1"
    assert "DVCID_ENV" not in env


@pytest.mark.parametrize("service", ["otp", "gateway"])
def test_a_process_in_the_image_without_dvcid_env_refuses_to_start(service: str) -> None:
    try:
        done = subprocess.run([sys.executable, "-m", f"services.{service}"], cwd=ROOT,
                              env=image_env(), capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"services.{service} started without DVCID_ENV (still running after 30 s)")
    assert done.returncode != 0
    assert "DVCID_ENV" in done.stderr
