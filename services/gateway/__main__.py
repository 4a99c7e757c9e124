"""``python -m services.gateway``: the HTTP API on DVCID_GATEWAY_HOST:DVCID_GATEWAY_PORT."""

from __future__ import annotations

import logging

import uvicorn

from services.gateway import SERVICE
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from shared.logging import configure_logging


def main() -> None:
    settings = GatewaySettings()
    configure_logging(SERVICE, settings.env, settings.log_level)
    # httpx logs every URL at INFO; /dev URLs carry phone numbers in their query.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level=settings.log_level.lower(),
        # Paths carry flow ids and /dev queries carry phones: structlog logs requests instead.
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
