"""Each instance answers for itself: a heartbeat file its running event loop touches while the
instance is healthy, and ``python -m services.<name> --check`` that the Kubernetes probes run.

A bus ping (``$SRV.PING.<name>``) is answered by any instance of a service, so it cannot say
whether THIS one is stuck. The heartbeat can: it is written by a task of the instance's own
event loop (a blocked loop writes nothing), and only while its NATS connection is up, its
outbox relay and its consumers are running and not failing for longer than the grace period.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from shared.logging import get_logger

log = get_logger(__name__)

# A check answers None when healthy, else what is wrong (a short phrase, no data).
Check = Callable[[], str | None]
INTERVAL_SECONDS = 5.0
DEFAULT_MAX_AGE_SECONDS = 30.0


def heartbeat_path(service: str, configured: str | None = None) -> Path:
    """``DVCID_HEARTBEAT_FILE``, else ``<tmp>/dvcid-<service>.alive`` (the pod's own /tmp)."""
    return Path(configured or Path(tempfile.gettempdir()) / f"dvcid-{service}.alive")


class Heartbeat:
    def __init__(self, path: Path, checks: Sequence[Check],
                 interval: float = INTERVAL_SECONDS) -> None:
        self._path = path
        self._checks = checks
        self._interval = interval
        self._reported: tuple[str, ...] = ()

    async def run(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            while True:
                self.beat()
                await asyncio.sleep(self._interval)
        finally:
            # A stopped instance is not alive: the probe must not read an old beat as fresh.
            self._path.unlink(missing_ok=True)

    def beat(self) -> bool:
        problems = tuple(p for p in (check() for check in self._checks) if p)
        if problems != self._reported:
            if problems:
                log.warning("instance unhealthy; heartbeat withheld", problems=list(problems))
            elif self._reported:
                log.info("instance healthy again")
            self._reported = problems
        if problems:
            return False
        # Small and atomic: the probe never reads a half-written file.
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(f"{time.time():.3f}\n")
        os.replace(tmp, self._path)
        return True


def check(path: Path, max_age: float = DEFAULT_MAX_AGE_SECONDS,
          now: Callable[[], float] = time.time) -> str | None:
    """None when the heartbeat is fresh, else why the probe fails."""
    try:
        age = now() - path.stat().st_mtime
    except FileNotFoundError:
        return f"no heartbeat at {path}"
    if age > max_age:
        return f"heartbeat {age:.0f}s old (more than {max_age:.0f}s) at {path}"
    return None


def exit_if_check(service: str, argv: Sequence[str] | None = None) -> None:
    """``python -m services.<name> --check``: exit 0 when this instance's heartbeat is fresh,
    1 otherwise (the liveness and readiness probes of deploy/k8s)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["--check"]:
        return
    from shared.settings import CommonSettings  # the probe needs nothing else of the service

    settings = CommonSettings()
    problem = check(heartbeat_path(service, settings.heartbeat_file),
                    settings.heartbeat_max_age_seconds)
    if problem:
        print(f"{service}: not alive: {problem}", file=sys.stderr)
        sys.exit(1)
    print(f"{service}: alive")
    sys.exit(0)
