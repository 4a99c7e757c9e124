"""``python -m services.registration`` runs the registration service."""

from __future__ import annotations

import asyncio

from services.registration import __version__
from services.registration.config import RegistrationSettings
from services.registration.entrypoints import wire
from shared.runtime import serve


def main() -> None:
    asyncio.run(serve("registration", __version__, "Registration flows of dvcid",
                      RegistrationSettings(), wire))


if __name__ == "__main__":
    main()
