"""Read-your-writes (issue 12): a completing step answers ``completed`` only once profile has
announced the account usable (AccountActivated), waiting a bounded time; ``get`` says
``creating_account`` meanwhile without waiting."""

from __future__ import annotations

import asyncio
from typing import Any

from services.registration.activation import ReadYourWrites
from services.registration.tests.fakes import FakeAccountActivations
from shared.contracts.fields import FlowRef
from shared.contracts.registration import (
    ReadRegistration,
    RegistrationCompleted,
    StepDone,
)
from shared.events import AccountActivated, new_event

DONE = {"status": "completed", "account_id": "acc-1", "level": 2}
REF = FlowRef(id="reg-1", flow_token="t")


async def completes(request: Any) -> RegistrationCompleted:
    return RegistrationCompleted.model_validate(DONE)


def read(wait: bool = False) -> ReadRegistration:
    return ReadRegistration(id="reg-1", flow_token="t", wait=wait)


def activated(registration_id: str = "reg-1") -> Any:
    return new_event(AccountActivated(account_id="acc-1", registration_id=registration_id),
                     correlation_id=registration_id)


async def test_a_completed_step_waits_for_the_activation() -> None:
    activations = FakeAccountActivations()
    usable = ReadYourWrites(activations, wait_seconds=5)
    step = asyncio.ensure_future(usable.completing(completes)(REF))
    await asyncio.sleep(0.01)
    assert not step.done()  # profile has not committed the account yet
    await usable.on_account_activated(activated())
    assert (await asyncio.wait_for(step, 1)).wire() == DONE


async def test_past_the_wait_the_step_answers_creating_account() -> None:
    usable = ReadYourWrites(FakeAccountActivations(), wait_seconds=0.05)
    answer = await usable.completing(completes)(REF)
    assert answer.wire() == DONE | {"status": "creating_account"}


async def test_get_never_waits_and_says_completed_once_activated() -> None:
    activations = FakeAccountActivations()
    usable = ReadYourWrites(activations, wait_seconds=60)
    reading = usable.reading(completes)
    assert (await asyncio.wait_for(reading(read()), 1)).wire()["status"] == "creating_account"
    await usable.on_account_activated(activated())
    await usable.on_account_activated(activated())  # a redelivery changes nothing
    assert (await reading(read())).wire() == DONE
    assert activations.active == {"reg-1": "acc-1"}


async def test_get_waits_when_asked_as_the_success_page_does() -> None:
    activations = FakeAccountActivations()
    usable = ReadYourWrites(activations, wait_seconds=5)
    reading = asyncio.ensure_future(usable.reading(completes)(read(wait=True)))
    await asyncio.sleep(0.01)
    assert not reading.done()
    await usable.on_account_activated(activated())
    assert (await asyncio.wait_for(reading, 1)).wire() == DONE


async def test_other_answers_and_other_flows_pass_unchanged() -> None:
    usable = ReadYourWrites(FakeAccountActivations(), wait_seconds=60)

    async def waiting(request: Any) -> StepDone:
        return StepDone.model_validate({"status": "awaiting_password"})

    answer = await usable.completing(waiting)(REF)
    assert answer.wire() == {"status": "awaiting_password"}
    await usable.on_account_activated(activated("reg-other"))
    assert (await usable.reading(completes)(read())).wire()["status"] == "creating_account"
