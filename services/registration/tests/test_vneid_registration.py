"""Registration with VNeID (issue 15): the use case against in-memory fakes. The gateway
verified the ID token; the start carries its claims."""

from __future__ import annotations

from typing import Any

import pytest

from services.registration.domain.errors import AccountExists, FlowNotFound, ValidationFailed
from services.registration.domain.model import IdentityRecord
from services.registration.tests.fakes import World, make_world
from shared.contracts.base import ContractViolation
from shared.events import AccountCreated

SUB = "0f7c3a52-3c1e-5d8a-9d54-8b3d1e1f0a11"
START = {"subject_type": "citizen", "method": "vneid", "vneid_sub": SUB,
         "id_number": "079195000123", "full_name": "Lê Thị Mai", "birth_date": "1995-03-08",
         "sex": "female"}


@pytest.fixture
def world() -> World:
    return make_world()


def auth(flow: dict[str, Any]) -> dict[str, str]:
    return {"id": flow["id"], "flow_token": flow["flow_token"]}


async def test_vneid_claims_make_a_level_2_account_linked_to_vneid(world: World) -> None:
    flow = await world.handlers.start(START)
    assert flow["status"] == "awaiting_confirmation"
    view = await world.handlers.get(auth(flow))
    assert view["identity"]["id_number"] == "079195000123" and view["method"] == "vneid"
    done = await world.handlers.confirm(auth(flow) | {"email": "mai@example.vn"})
    assert done["status"] == "completed" and done["level"] == 2
    [event] = world.store.events_of("AccountCreated")
    created = event.parse(AccountCreated)
    assert (created.method, created.level, created.credential_id) == ("vneid", 2, None)
    assert created.phone is None and created.email == "mai@example.vn"
    assert created.identity.id_type == "CCCD" and created.identity.sex == "female"
    assert (created.model_extra or {})["vneid_sub"] == SUB
    assert "CCCD:079195000123" in world.store.identities
    # A retried confirm whose answer was lost: the same answer, nothing made again.
    again = await world.handlers.confirm(auth(flow))
    assert again == done and len(world.store.events_of("AccountCreated")) == 1


async def test_a_cccd_with_an_account_is_refused_at_the_start(world: World) -> None:
    world.store.identities["CCCD:079195000123"] = IdentityRecord(
        key="CCCD:079195000123", account_id="acc-0", subject_type="citizen",
        created_at=world.clock(), registration_id="reg-0")
    with pytest.raises(AccountExists):
        await world.handlers.start(START)


async def test_only_the_confirm_step_is_taken(world: World) -> None:
    flow = await world.handlers.start(START)
    with pytest.raises(FlowNotFound):
        await world.handlers.set_password(auth(flow) | {"password": "Hoa-Sen#2026vn"})


async def test_a_bad_email_is_said_and_the_flow_waits(world: World) -> None:
    flow = await world.handlers.start(START)
    with pytest.raises(ValidationFailed):
        await world.handlers.confirm(auth(flow) | {"email": "not-an-email"})
    done = await world.handlers.confirm(auth(flow))
    assert done["status"] == "completed"


@pytest.mark.parametrize("bad", [{"subject_type": "enterprise"}, {"id_number": "12345"},
                                 {"vneid_sub": ""}, {"birth_date": "08/03/1995"}])
async def test_claims_outside_the_contract_are_refused(world: World, bad: dict[str, str]) -> None:
    with pytest.raises(ContractViolation):
        await world.handlers.start(START | bad)
