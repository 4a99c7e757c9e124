"""Login options and the forgotten password against fakes: lost phone, reset, first login."""

from __future__ import annotations

from typing import Any

import pytest

from services.profile.domain.errors import (
    FlowState,
    InvalidPhone,
    PasswordPolicy,
    SubscriberMismatch,
    Unauthenticated,
)
from services.profile.domain.models import Subscriber
from services.profile.recovery import Recovery
from services.profile.tests.fakes import FakeSubscribers, FakeUnitOfWork, fast_password_hash
from services.profile.tests.test_handlers import (
    ID_NUMBER,
    POLICY,
    World,
    logged_in,
    make_world,
    started,
    with_account,
)

NEW_PHONE = "+84987654321"
NEW_PASSWORD = "Sen-Vang#2027vn"


def recovery_of(world: World) -> Recovery:
    async def hash_password(password: str) -> str:
        return fast_password_hash(password)

    return Recovery(uow=lambda: FakeUnitOfWork(world.store), store=world.store, otp=world.otp,
                    clock=world.clock, policy=POLICY, guard=world.profile.guard,
                    hash_password=hash_password)


def with_registry(world: World, owner: str = ID_NUMBER) -> FakeSubscribers:
    registry = FakeSubscribers()
    registry.rows[NEW_PHONE] = Subscriber(NEW_PHONE, owner, "Nguyễn Văn  AN", "1999-01-02",
                                          "active")
    world.profile._subscribers = registry
    return registry


def ref(flow: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": flow["id"], "flow_token": flow["flow_token"], **extra}


async def test_a_lost_phone_owned_by_the_holder_replaces_the_otp_phone() -> None:
    world = make_world()
    with_registry(world)
    await with_account(world)
    flow = await started(world)
    answer = await recovery_of(world).login_lost_phone(ref(flow, phone="0987 654 321"))
    assert answer["status"] == "otp_sent" and world.otp.issued[-1]["phone"] == NEW_PHONE
    done = await world.profile.login_submit_otp(ref(flow, code=world.otp.code))
    assert done["status"] == "completed"
    assert [p.phone for p in world.store.accounts.rows["acc-1"].phones] == [NEW_PHONE]
    assert "OtpPhoneReplaced" in [e.type for e in world.store.published]


async def test_a_lost_phone_of_someone_else_changes_nothing() -> None:
    world = make_world()
    with_registry(world, owner="079200000000")
    await with_account(world)
    flow = await started(world)
    await recovery_of(world).login_lost_phone(ref(flow, phone=NEW_PHONE))
    with pytest.raises(SubscriberMismatch):
        await world.profile.login_submit_otp(ref(flow, code=world.otp.code))
    assert [p.phone for p in world.store.accounts.rows["acc-1"].phones] == ["+84912345567"]
    assert world.store.sessions.rows == {}


async def test_a_lost_phone_must_be_a_vietnamese_mobile() -> None:
    world = make_world()
    await with_account(world)
    flow = await started(world)
    with pytest.raises(InvalidPhone):
        await recovery_of(world).login_lost_phone(ref(flow, phone="12345"))


async def test_a_password_reset_ends_every_session_and_needs_a_strong_password() -> None:
    world = make_world()
    session = await logged_in(world)
    recovery = recovery_of(world)
    reset = await recovery.reset_start({"username": ID_NUMBER, "ip": "203.0.113.1"})
    with pytest.raises(FlowState):
        await recovery.reset_set_password(ref(reset, password=NEW_PASSWORD,
                                              password_confirmation=NEW_PASSWORD))
    assert (await recovery.reset_submit_otp(ref(reset, code=world.otp.code)))["status"] == \
        "awaiting_password"
    with pytest.raises(PasswordPolicy) as weak:
        await recovery.reset_set_password(ref(reset, password=f"Ab#{ID_NUMBER}",
                                              password_confirmation=f"Ab#{ID_NUMBER}"))
    assert "no_id_number" in [f["rule"] for f in weak.value.fields or []]
    done = await recovery.reset_set_password(ref(reset, password=NEW_PASSWORD,
                                                 password_confirmation=NEW_PASSWORD))
    assert done == {"status": "completed"}
    with pytest.raises(Unauthenticated):
        await world.profile.authenticate({"session_token": session["session_token"]})
    types = [e.type for e in world.store.published]
    assert "SessionRevoked" in types and "PasswordChanged" in types
    # The new password logs in.
    flow = await world.profile.login_start({"method": "password", "username": ID_NUMBER,
                                            "password": NEW_PASSWORD})
    assert flow["status"] == "otp_sent"


async def test_a_one_time_password_must_be_changed_before_the_otp() -> None:
    world = make_world()
    await with_account(world)
    world.store.accounts.rows["acc-1"].must_change_password = True
    flow = await started(world)
    assert flow["status"] == "password_change_required" and world.otp.issued == []
    with pytest.raises(FlowState):
        await world.profile.login_submit_otp(ref(flow, code=world.otp.code))
    answer = await recovery_of(world).login_change_password(
        ref(flow, new_password=NEW_PASSWORD, new_password_confirmation=NEW_PASSWORD))
    assert answer["status"] == "otp_sent"
    assert not world.store.accounts.rows["acc-1"].must_change_password
    done = await world.profile.login_submit_otp(ref(flow, code=world.otp.code))
    assert done["status"] == "completed"
