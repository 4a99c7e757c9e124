"""``stop_task`` ends a task that swallowed its cancellation (as ``asyncio.wait_for`` does on
Python 3.11 when the cancel and the awaited result land in the same turn). No servers."""

from __future__ import annotations

import asyncio

from shared.tasks import stop_task


async def test_a_task_that_swallows_one_cancellation_is_still_stopped() -> None:
    turns = 0

    async def loop_swallowing_the_first_cancel() -> None:
        nonlocal turns
        swallowed = False
        while True:
            turns += 1
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed = True  # what a racing wait_for does: carry on as if not cancelled
                asyncio.current_task().uncancel()  # type: ignore[union-attr]

    task = asyncio.create_task(loop_swallowing_the_first_cancel())
    await asyncio.sleep(0.03)
    # The usual cancel-then-await would wait forever here.
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=0.2)
    assert not done, "the task should have carried on after its first cancellation"
    await asyncio.wait_for(stop_task(task), 5)
    assert task.cancelled()


async def test_stopping_nothing_or_a_finished_task_is_quiet() -> None:
    async def fails() -> None:
        raise RuntimeError("its own failure")

    finished = asyncio.create_task(fails())
    await asyncio.wait({finished})
    await stop_task(finished)
    await stop_task(None)
