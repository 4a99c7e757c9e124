"""``python -m services.oidc``: runs the oidc service (dvcid as an OpenID Provider)."""

from __future__ import annotations

import asyncio

from services.oidc import __version__
from services.oidc.config import OidcSettings
from services.oidc.entrypoints import wire
from shared.liveness import exit_if_check
from shared.runtime import serve


def main() -> None:
    exit_if_check("oidc")  # `--check`: the probes ask this instance's heartbeat
    asyncio.run(serve("oidc", __version__, "Nhà cung cấp định danh OpenID Connect (SSO)",
                      OidcSettings(), wire))


if __name__ == "__main__":
    main()
