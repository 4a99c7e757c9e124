"""One retry rule for registration's units of work that race another writer of the same flow.

A step and an event consumer (OtpVerified, CertificateValidated) may write one flow at the same
instant; MongoDB then aborts one transaction with a write conflict (``TransactionConflict``).
The unit is run again from the start (it re-reads and re-checks its precondition), a few
times with a short backoff, before the conflict is let through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from services.registration.domain.errors import TransactionConflict

ATTEMPTS = 5
T = TypeVar("T")


async def retrying_conflicts(unit: Callable[[], Awaitable[T]], attempts: int = ATTEMPTS,
                             retry_on: tuple[type[Exception], ...] = ()) -> T:
    """``retry_on``: further internal signals that a fresh try may succeed (a username drawn
    twice at the counter)."""
    retryable: tuple[type[Exception], ...] = (TransactionConflict, *retry_on)
    for attempt in range(attempts - 1):
        try:
            return await unit()
        except retryable:
            await asyncio.sleep(0.02 * 2**attempt)
    return await unit()  # the last try: a conflict now is the caller's
