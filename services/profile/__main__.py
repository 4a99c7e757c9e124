"""``python -m services.profile`` runs the profile service until SIGTERM."""

from __future__ import annotations

import asyncio

from services.profile import DESCRIPTION, SERVICE, VERSION
from services.profile.config import ProfileSettings
from services.profile.entrypoints import wire
from shared.liveness import exit_if_check
from shared.runtime import serve


def main() -> None:
    exit_if_check(SERVICE)  # `--check`: the probes ask this instance's heartbeat
    asyncio.run(serve(service=SERVICE, version=VERSION, description=DESCRIPTION,
                      settings=ProfileSettings(), wire=wire))


if __name__ == "__main__":
    main()
