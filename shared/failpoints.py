"""Named places where a crash test may kill the process (DVCID_FAILPOINTS, never in production).

A failpoint simulates ``kill -9`` at an exact moment, e.g. after a commit and before the relay
publishes, which a test cannot hit reliably from outside.
"""

from __future__ import annotations

import os
import signal


class Failpoints:
    def __init__(self, names: str = "") -> None:
        self._names = {n.strip() for n in names.split(",") if n.strip()}

    def hit(self, name: str) -> None:
        if name in self._names:
            os.kill(os.getpid(), signal.SIGKILL)
