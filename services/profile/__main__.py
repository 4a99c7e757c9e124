"""``python -m services.profile`` runs the profile service until SIGTERM."""

from __future__ import annotations

import asyncio

from services.profile import DESCRIPTION, SERVICE, VERSION
from services.profile.config import ProfileSettings
from services.profile.entrypoints import wire
from shared.runtime import serve


def main() -> None:
    asyncio.run(serve(SERVICE, VERSION, DESCRIPTION, ProfileSettings(), wire))


if __name__ == "__main__":
    main()
