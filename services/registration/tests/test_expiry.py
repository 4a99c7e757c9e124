"""A registration left unfinished for 30 minutes fails and is announced once (fakes, frozen
clock); the OtpFailed consumer tells the flow why no code arrived."""

from __future__ import annotations

from typing import Any

import pytest

from services.registration.domain.errors import FlowExpired
from services.registration.expiry import ExpirySweeper
from services.registration.methods.phone_otp import OTP_FAILED_CONSUMER
from services.registration.tests.fakes import World, make_world
from shared.events import OtpFailed, RegistrationFailed, new_event

ID_NUMBER = "001090012345"
PHONE = "+84912345678"
PASSWORD = "Tr@ng-Sen-2026!"


@pytest.fixture
def world() -> World:
    w = make_world()
    w.telco.add(PHONE, ID_NUMBER, "Nguyễn Văn An", "1990-05-17")
    return w


def sweeper(world: World) -> ExpirySweeper:
    return world.sweeper


async def start(world: World) -> dict[str, Any]:
    return await world.handlers.start({
        "subject_type": "citizen", "method": "mobile", "id_number": ID_NUMBER,
        "full_name": "Nguyễn Văn An", "birth_date": "1990-05-17", "sex": "male", "phone": PHONE})


def auth(flow: dict[str, Any]) -> dict[str, str]:
    return {"id": flow["id"], "flow_token": flow["flow_token"]}


def failures(world: World) -> list[RegistrationFailed]:
    return [e.parse(RegistrationFailed) for e in world.store.events_of("RegistrationFailed")]


async def test_nothing_expires_before_thirty_minutes(world: World) -> None:
    await start(world)
    world.clock.advance(minutes=29, seconds=59)
    assert await sweeper(world).sweep() == 0
    assert failures(world) == []


async def test_an_unfinished_flow_fails_with_flow_expired_once(world: World) -> None:
    waiting_otp = await start(world)
    world.clock.advance(minutes=1)
    world.telco.add("+84912000111", "001090054321", "Nguyễn Văn An", "1990-05-17")
    other = await world.handlers.start({
        "subject_type": "citizen", "method": "mobile", "id_number": "001090054321",
        "full_name": "Nguyễn Văn An", "birth_date": "1990-05-17", "sex": "male",
        "phone": "+84912000111"})
    await world.handlers.submit_otp({**auth(other), "code": world.otp.valid_code})
    world.clock.advance(minutes=30)

    assert await sweeper(world).sweep() == 2
    assert await sweeper(world).sweep() == 0  # a second sweep finds nothing left
    assert sorted(f.registration_id for f in failures(world)) == sorted(
        [waiting_otp["id"], other["id"]])
    assert {f.code for f in failures(world)} == {"flow_expired"}
    for flow in (waiting_otp, other):
        with pytest.raises(FlowExpired):
            await world.handlers.get(auth(flow))
        with pytest.raises(FlowExpired):
            await world.handlers.submit_otp({**auth(flow), "code": world.otp.valid_code})


async def test_a_completed_flow_never_expires(world: World) -> None:
    flow = await start(world)
    await world.handlers.submit_otp({**auth(flow), "code": world.otp.valid_code})
    await world.handlers.set_password({**auth(flow), "password": PASSWORD,
                                       "password_confirmation": PASSWORD})
    world.clock.advance(hours=2)
    assert await sweeper(world).sweep() == 0
    assert (await world.handlers.get(auth(flow)))["status"] == "completed"


async def test_an_expired_flow_answers_flow_expired_before_the_sweep_too(world: World) -> None:
    flow = await start(world)
    world.clock.advance(minutes=30)
    with pytest.raises(FlowExpired):
        await world.handlers.get(auth(flow))


async def test_a_sweep_is_bounded(world: World) -> None:
    for n in range(3):
        phone = f"+8491200010{n}"
        id_number = f"00109005432{n}"
        world.telco.add(phone, id_number, "Nguyễn Văn An", "1990-05-17")
        await world.handlers.start({
            "subject_type": "citizen", "method": "mobile", "id_number": id_number,
            "full_name": "Nguyễn Văn An", "birth_date": "1990-05-17", "sex": "male",
            "phone": phone})
    world.clock.advance(minutes=31)
    assert await sweeper(world).sweep(limit=2) == 2
    assert await sweeper(world).sweep(limit=2) == 1


# --- OtpFailed --------------------------------------------------------------------------------

def otp_failed(flow_id: str, reason: str, purpose: str = "registration") -> Any:
    return new_event(OtpFailed(flow_id=flow_id, purpose=purpose,  # type: ignore[arg-type]
                               phone=PHONE, reason=reason), correlation_id=flow_id)


async def test_an_undelivered_code_shows_on_the_flow_until_a_resend(world: World) -> None:
    flow = await start(world)
    event = otp_failed(flow["id"], "sms_failed")
    await world.otp_events.on_otp_failed(event)
    await world.otp_events.on_otp_failed(event)  # redelivered: once
    view = await world.handlers.get(auth(flow))
    assert view["status"] == "otp_sent" and view["code"] == "sms_failed"
    assert f"{OTP_FAILED_CONSUMER}:{event.id}" in world.store.processed

    world.clock.advance(seconds=61)
    await world.handlers.resend_otp(auth(flow))
    view = await world.handlers.get(auth(flow))
    assert view["status"] == "otp_sent" and "code" not in view


async def test_a_locked_code_fails_the_registration(world: World) -> None:
    flow = await start(world)
    await world.otp_events.on_otp_failed(otp_failed(flow["id"], "otp_attempts_exceeded"))
    view = await world.handlers.get(auth(flow))
    assert view["status"] == "failed" and view["code"] == "otp_attempts_exceeded"
    [failed] = failures(world)
    assert failed.registration_id == flow["id"] and failed.code == "otp_attempts_exceeded"


async def test_otp_failures_of_other_purposes_are_not_ours(world: World) -> None:
    flow = await start(world)
    await world.otp_events.on_otp_failed(otp_failed(flow["id"], "sms_failed", purpose="login"))
    assert "code" not in await world.handlers.get(auth(flow))
