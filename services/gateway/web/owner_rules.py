"""A rule the pages show but another service owns (profile's password rule, otp's timing):
read from its owner once and kept for the gateway's life (the rule changes with a release of
its owner, and a gateway restart reads it again).

While the owner cannot be asked, a page still renders with what it can do without the rule
(the owner still applies it when the form is sent), and a later page asks again, at most once
every ``RETRY_AFTER_SECONDS``, waiting ``READ_TIMEOUT_SECONDS`` at most.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from shared.logging import get_logger
from shared.rpc import RemoteError, ServiceUnavailable

log = get_logger(__name__)

READ_TIMEOUT_SECONDS = 2.0
RETRY_AFTER_SECONDS = 30.0

Shown = TypeVar("Shown")
Answer = TypeVar("Answer")


class OwnerRules(Generic[Answer, Shown]):
    """The rule as last read from its owner (one per app, on ``app.state``): ``shape`` turns
    the owner's answer into what the pages show; ``unknown`` is shown until then."""

    def __init__(self, shape: Callable[[Answer], Shown], unknown: Shown, *, owner: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._shape = shape
        self._unknown = unknown
        self._owner = owner
        self._clock = clock
        self._rules: Shown | None = None
        self._failed_at: float | None = None

    @property
    def current(self) -> Shown:
        return self._unknown if self._rules is None else self._rules

    async def load(self, read: Callable[[], Awaitable[Answer]]) -> Shown:
        """The rule, read from the owner the first time (and again after a failed read, once
        ``RETRY_AFTER_SECONDS`` have passed)."""
        if self._rules is not None:
            return self._rules
        now = self._clock()
        if self._failed_at is not None and now - self._failed_at < RETRY_AFTER_SECONDS:
            return self.current
        try:
            answer = await read()
        except (RemoteError, ServiceUnavailable) as exc:
            self._failed_at = now
            log.warning("a page rule was not read from its owner", owner=self._owner,
                        error=type(exc).__name__)
            return self.current
        self._rules = self._shape(answer)
        return self._rules
