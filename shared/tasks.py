"""Stopping a background task for sure.

``task.cancel()`` then ``await task`` is the usual way, and on Python 3.11 it can wait forever:
``asyncio.wait_for`` (which nats-py's ``fetch``/``next_msg`` and our own loops use) swallows a
cancellation that arrives in the same loop turn as the awaited result, so the task carries on
with its loop as if never cancelled. A consumer's stop then hung a test's teardown until
pytest-timeout (seen in CI: profile's crash test, otp's service test). ``stop_task`` cancels
again until the task is done: the second cancel lands at the loop's next await.
"""

from __future__ import annotations

import asyncio
import contextlib

# How long one cancellation may take to land before it is sent again.
RECANCEL_SECONDS = 0.5


async def stop_task(task: asyncio.Task[object] | None) -> None:
    """Cancels ``task`` and waits until it has ended (its own exception, if any, is dropped:
    the caller is stopping it)."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_SECONDS)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
