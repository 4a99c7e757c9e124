"""The expiry sweeper: a registration not finished within its 30 minutes fails, announced.

A TTL index alone would delete lapsed flows silently (and only a day later, so that until then
they answer ``flow_expired``). Other services and the operators need the fact, so a background
task of every instance fails the lapsed flows one by one: each step is ONE atomic
``find_one_and_update`` (unfinished and past ``expires_at`` → ``failed``, code
``flow_expired``) and the RegistrationFailed event in the same unit of work (outbox). Several
instances sweeping at once cannot fail or announce a flow twice: the filter lets exactly one
claim it, and a transaction that loses a write conflict is simply left to the winner.
The TTL index still purges the documents later. One sweeper for the flows of every method
that announces its expiry (a counter flow lapses silently: nothing was announced for it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection

from services.registration.domain.errors import TransactionConflict
from services.registration.domain.flow import FLOW_EXPIRED_CODE
from services.registration.domain.ports import UnitOfWork
from services.registration.flows import failed_event, step_span
from shared.clock import Clock
from shared.logging import get_logger

log = get_logger(__name__)

# One sweep fails at most this many flows, then yields to the next tick: a backlog after an
# outage is worked off without one long burst.
MAX_PER_SWEEP = 500


class ExpirySweeper:
    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock,
                 methods: Collection[str]) -> None:
        self._uow = uow
        self._clock = clock
        self._methods = methods

    async def sweep(self, limit: int = MAX_PER_SWEEP) -> int:
        """Fails every lapsed unfinished flow (up to ``limit``); how many this call failed."""
        failed = 0
        for _attempt in range(limit):
            try:
                if not await self._fail_one():
                    break
            except TransactionConflict:
                # Another instance is failing the same flow right now: it is theirs.
                await asyncio.sleep(0.01)
                continue
            failed += 1
        if failed:
            log.info("expired registrations failed", count=failed)
        return failed

    async def _fail_one(self) -> bool:
        now = self._clock()
        async with self._uow() as uow:
            registration = await uow.registrations.fail_one_expired(now, self._methods)
            if registration is None:
                return False
            uow.emit(failed_event(registration, registration.code or FLOW_EXPIRED_CODE, now))
            # Committed in the registration's trace: its RegistrationFailed ends that tree.
            with step_span(registration, "expire"):
                await uow.commit()
        log.info("registration expired", registration_id=registration.id,
                 method=registration.method)
        return True

    async def run(self, interval_seconds: float) -> None:
        """Sweeps forever, every ``interval_seconds``; cancelled when the service stops."""
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A database hiccup must not end the task for the life of the process.
                log.exception("expiry sweep failed; trying again at the next tick")
            await asyncio.sleep(interval_seconds)
