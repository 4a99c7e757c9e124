"""Read-your-writes (issue 12): a completing step answers ``completed`` only once profile has
announced the account usable (AccountActivated), waiting a bounded time; ``get`` says
``creating_account`` meanwhile without waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from services.registration.activation import ReadYourWrites
from services.registration.tests.fakes import FakeAccountActivations
from shared.events import AccountActivated, new_event

DONE = {"status": "completed", "account_id": "acc-1", "level": 2}


async def completes(payload: Mapping[str, Any]) -> dict[str, Any]:
    return dict(DONE)


def activated(registration_id: str = "reg-1") -> Any:
    return new_event(AccountActivated(account_id="acc-1", registration_id=registration_id),
                     correlation_id=registration_id)


async def test_a_completed_step_waits_for_the_activation() -> None:
    activations = FakeAccountActivations()
    usable = ReadYourWrites(activations, wait_seconds=5)
    step = asyncio.ensure_future(usable.completing(completes)({"id": "reg-1"}))
    await asyncio.sleep(0.01)
    assert not step.done()  # profile has not committed the account yet
    await usable.on_account_activated(activated())
    assert await asyncio.wait_for(step, 1) == DONE


async def test_past_the_wait_the_step_answers_creating_account() -> None:
    usable = ReadYourWrites(FakeAccountActivations(), wait_seconds=0.05)
    answer = await usable.completing(completes)({"id": "reg-1"})
    assert answer == DONE | {"status": "creating_account"}


async def test_get_never_waits_and_says_completed_once_activated() -> None:
    activations = FakeAccountActivations()
    usable = ReadYourWrites(activations, wait_seconds=60)
    read = usable.reading(completes)
    assert (await asyncio.wait_for(read({"id": "reg-1"}), 1))["status"] == "creating_account"
    await usable.on_account_activated(activated())
    await usable.on_account_activated(activated())  # a redelivery changes nothing
    assert await read({"id": "reg-1"}) == DONE
    assert activations.active == {"reg-1": "acc-1"}


async def test_get_waits_when_asked_as_the_success_page_does() -> None:
    activations = FakeAccountActivations()
    usable = ReadYourWrites(activations, wait_seconds=5)
    read = asyncio.ensure_future(usable.reading(completes)({"id": "reg-1", "wait": True}))
    await asyncio.sleep(0.01)
    assert not read.done()
    await usable.on_account_activated(activated())
    assert await asyncio.wait_for(read, 1) == DONE


async def test_other_answers_and_other_flows_pass_unchanged() -> None:
    usable = ReadYourWrites(FakeAccountActivations(), wait_seconds=60)

    async def waiting(payload: Mapping[str, Any]) -> dict[str, Any]:
        return {"status": "awaiting_password"}

    assert await usable.completing(waiting)({"id": "reg-1"}) == {"status": "awaiting_password"}
    await usable.on_account_activated(activated("reg-other"))
    answer = await usable.reading(completes)({"id": "reg-1"})
    assert answer["status"] == "creating_account"
