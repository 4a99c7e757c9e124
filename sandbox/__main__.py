"""``python -m sandbox``: the simulated outside world on 127.0.0.1 (dev, demo and tests)."""

from __future__ import annotations

import os

import uvicorn

from sandbox.app import create_app
from sandbox.config import SandboxSettings
from shared.logging import configure_logging


def main() -> None:
    settings = SandboxSettings()
    # The sandbox speaks plain HTTP wherever it runs (compose: http://sandbox:8100) and never in
    # production; Authlib's server (VNeID) would otherwise refuse http:// off the loopback.
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    configure_logging("sandbox", "dev", settings.log_level)
    uvicorn.run(create_app(settings), host=settings.sandbox_host, port=settings.sandbox_port,
                log_level=settings.log_level.lower())


if __name__ == "__main__":
    main()
