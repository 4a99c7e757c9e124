"""The methods as strategies of one flow: each accepts exactly the steps it names, and any
other step of its flow is refused as it was when the methods kept separate flows."""

from __future__ import annotations

from typing import Any

import pytest

from services.registration.bootstrap import METHOD_TYPES
from services.registration.domain.errors import FlowNotFound, FlowState
from services.registration.methods.base import MethodBase, Step
from services.registration.tests.fakes import World, make_world

PHONE = "+84912345678"
MOBILE = {"subject_type": "citizen", "method": "mobile", "id_number": "001090012345",
          "full_name": "Nguyễn Văn An", "birth_date": "1990-05-17", "sex": "male",
          "phone": PHONE}


@pytest.fixture
def world() -> World:
    w = make_world()
    w.telco.add(PHONE, "001090012345", "Nguyễn Văn An", "1990-05-17")
    return w


def auth(flow: dict[str, Any]) -> dict[str, str]:
    return {"id": flow["id"], "flow_token": flow["flow_token"]}


@pytest.mark.parametrize("kind", METHOD_TYPES, ids=lambda kind: kind.name)
def test_a_method_overrides_exactly_the_steps_it_accepts(kind: type[MethodBase]) -> None:
    overridden = {step for step in Step
                  if getattr(kind, step.value) is not getattr(MethodBase, step.value)}
    assert overridden == set(kind.steps)


def test_every_method_has_its_own_name() -> None:
    names = [kind.name for kind in METHOD_TYPES]
    assert sorted(names) == ["bhxh", "mobile", "post_office", "sim", "usb", "vneid"]


async def test_signature_steps_on_an_otp_flow_are_not_found(world: World) -> None:
    flow = auth(await world.handlers.start(MOBILE))
    with pytest.raises(FlowNotFound):
        await world.handlers.submit_signature(flow | {"certificate": "x", "signature": "y"})
    with pytest.raises(FlowNotFound):
        await world.handlers.confirm(flow)
    with pytest.raises(FlowNotFound):  # no agent bound it
        await world.handlers.agent_register_confirm(
            {"id": flow["id"], "code": "1", "agent_account_id": "agent-1",
             "office": {"name": "Bưu điện"}})


async def test_otp_steps_on_a_signature_flow_are_not_found(world: World) -> None:
    flow = auth(await world.handlers.start({"subject_type": "citizen", "method": "usb"}))
    with pytest.raises(FlowNotFound):
        await world.handlers.submit_otp(flow | {"code": "123456"})
    with pytest.raises(FlowNotFound):
        await world.handlers.resend_otp(flow)
    with pytest.raises(FlowNotFound):
        await world.handlers.set_password(flow | {"password": "Tr@ng-Sen-2026!"})


async def test_a_sim_flow_refuses_the_usb_signature_step(world: World) -> None:
    flow = auth(await world.handlers.start(
        {"subject_type": "citizen", "method": "sim", "phone": PHONE}))
    with pytest.raises(FlowState) as refused:
        await world.handlers.submit_signature(flow | {"certificate": "x", "signature": "y"})
    assert refused.value.detail == "Bước này không dùng cho phương thức đăng ký của hồ sơ này."


async def test_the_start_picks_the_method_once(world: World) -> None:
    started = await world.handlers.start(MOBILE)
    assert world.store.registrations[started["id"]].method == "mobile"
    assert world.telco.lookups == [PHONE]  # one method's checks, once
