"""``python -m sandbox.demo_portal``: the demo client portal on 127.0.0.1:8300 (dev, demo)."""

from __future__ import annotations

import uvicorn

from sandbox.demo_portal.app import create_app
from sandbox.demo_portal.config import DemoPortalSettings
from shared.logging import configure_logging


def main() -> None:
    settings = DemoPortalSettings()
    configure_logging("demo-portal", "dev", settings.log_level)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level=settings.log_level.lower())


if __name__ == "__main__":
    main()
