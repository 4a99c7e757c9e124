"""``python -m services.registration`` runs the registration service."""

from __future__ import annotations

import asyncio

from services.registration import __version__
from services.registration.config import RegistrationSettings
from services.registration.entrypoints import wire
from shared.liveness import exit_if_check
from shared.runtime import serve


def main() -> None:
    exit_if_check("registration")  # `--check`: the probes ask this instance's heartbeat
    asyncio.run(serve("registration", __version__, "Registration flows of dvcid",
                      RegistrationSettings(), wire))


if __name__ == "__main__":
    main()
