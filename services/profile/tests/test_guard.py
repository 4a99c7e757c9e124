"""The login guards against fakes and a frozen clock: captcha, lock, throttles, races."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from services.profile.domain.errors import (
    AccountLocked,
    CaptchaInvalid,
    CaptchaRequired,
    InvalidCredentials,
    RateLimited,
)
from services.profile.tests.fakes import TEST_SETTINGS
from services.profile.tests.test_handlers import (
    ID_NUMBER,
    PASSWORD,
    World,
    make_world,
    with_account,
)
from shared import crypto
from shared.clock import FrozenClock

IP = "203.0.113.7"


def login(username: str = ID_NUMBER, password: str = "wrong-one", ip: str | None = IP,
          **extra: Any) -> dict[str, Any]:
    body = {"method": "password", "username": username, "password": password, **extra}
    return body | ({"ip": ip} if ip else {})


async def fail(world: World, times: int, **kwargs: Any) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            await world.call("login_start", login(**kwargs))


async def captcha(world: World) -> dict[str, str]:
    """A new captcha and its right answer (the fake image is the text itself)."""
    made = await world.call("captcha_new", {"ip": IP})
    text = base64.b64decode(made["image"].split(",", 1)[1]).decode()
    return {"id": made["captcha_id"], "answer": text.lower()}


@pytest.fixture
async def world() -> World:
    w = make_world()
    await with_account(w)
    return w


async def test_the_sixth_attempt_needs_a_captcha_even_with_the_right_password(world: World) -> None:
    await fail(world, 5)
    with pytest.raises(CaptchaRequired):
        await world.call("login_start", login(password=PASSWORD))
    started = await world.call("login_start", login(password=PASSWORD,
                                                    captcha=await captcha(world)))
    assert started["status"] == "otp_sent"


async def test_a_wrong_captcha_is_refused_and_a_captcha_answers_once(world: World) -> None:
    await fail(world, 5)
    right = await captcha(world)
    with pytest.raises(CaptchaInvalid):
        await world.call("login_start", login(password=PASSWORD,
                                              captcha={"id": right["id"], "answer": "XXXXX"}))
    with pytest.raises(CaptchaInvalid):  # the right answer, but the captcha is used up
        await world.call("login_start", login(password=PASSWORD, captcha=right))


async def test_an_expired_captcha_is_invalid(world: World) -> None:
    await fail(world, 5)
    answer = await captcha(world)
    assert isinstance(world.clock, FrozenClock)
    world.clock.advance(minutes=6)
    with pytest.raises(CaptchaInvalid):
        await world.call("login_start", login(password=PASSWORD, captcha=answer))


async def test_strangers_failures_on_one_ip_never_captcha_a_first_try() -> None:
    world = make_world(settings=TEST_SETTINGS.model_copy(update={"login_ip_captcha_after": 8}))
    await with_account(world)
    for n in range(12):  # past the address's volume limit, each stranger once
        with pytest.raises(InvalidCredentials):
            await world.call("login_start", login(username=f"0792000000{n:02d}"))
    # The person's own first try from the same address goes through...
    started = await world.call("login_start", login(password=PASSWORD))
    assert started["status"] == "otp_sent"
    # ...but past the volume limit a name that already failed here is asked a captcha.
    with pytest.raises(CaptchaRequired):
        await world.call("login_start", login(username="079200000000"))


async def test_one_account_has_one_budget_whatever_name_is_used(world: World) -> None:
    world.store.accounts.rows["acc-1"].username = "BD0000000001"
    for n in range(5):
        with pytest.raises(InvalidCredentials):
            await world.call("login_start",
                login(username=("BD0000000001", ID_NUMBER)[n % 2], ip=f"10.0.0.{n}"))
    with pytest.raises(CaptchaRequired):
        await world.call("login_start", login(username="BD0000000001", password=PASSWORD,
                                              ip="10.0.1.1"))
    for n in range(4):
        with pytest.raises(InvalidCredentials):
            await world.call("login_start", login(username=("BD0000000001", ID_NUMBER)[n % 2],
                                                  captcha=await captcha(world)))
    with pytest.raises(AccountLocked):
        await world.call("login_start", login(captcha=await captcha(world)))
    # Locked under every name, even with the right password.
    with pytest.raises(AccountLocked):
        await world.call("login_start", login(username="BD0000000001", password=PASSWORD,
                                              captcha=await captcha(world)))


async def test_the_tenth_failure_locks_the_name_for_fifteen_minutes(world: World) -> None:
    await fail(world, 5)
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            await world.call("login_start", login(captcha=await captcha(world)))
    with pytest.raises(AccountLocked) as locked:
        await world.call("login_start", login(captcha=await captcha(world)))
    assert locked.value.retry_after == 15 * 60
    # Locked even with the right password and a right captcha, from anywhere.
    with pytest.raises(AccountLocked):
        await world.call("login_start", login(password=PASSWORD, ip="198.51.100.1",
                                              captcha=await captcha(world)))
    world.clock.advance(minutes=16)
    started = await world.call("login_start", login(password=PASSWORD))
    assert started["status"] == "otp_sent"


async def test_an_unknown_name_is_guarded_exactly_like_an_account(world: World) -> None:
    await fail(world, 5, username="079200000001")
    with pytest.raises(CaptchaRequired):
        await world.call("login_start", login(username="079200000001", ip="198.51.100.2"))


async def test_a_right_password_does_not_count_as_a_failure(world: World) -> None:
    await fail(world, 4)
    for _ in range(3):
        await world.call("login_start", login(password=PASSWORD))
    await fail(world, 1)
    with pytest.raises(CaptchaRequired):
        await world.call("login_start", login(password=PASSWORD))


async def test_fifty_parallel_guesses_check_at_most_five_passwords() -> None:
    checked = 0

    async def slow_verify(password_hash: str | None, password: str) -> bool:
        nonlocal checked
        checked += 1
        await asyncio.sleep(0.001)  # every guess is in flight at once
        return await crypto.verify_password(password_hash, password)

    world = make_world(verify_password=slow_verify)
    await with_account(world)
    answers = await asyncio.gather(*(world.call("login_start", login(ip=f"10.0.0.{n}"))
                                     for n in range(50)), return_exceptions=True)
    kinds = {type(a).__name__ for a in answers}
    assert kinds <= {"InvalidCredentials", "CaptchaRequired"}
    assert checked == 5
    assert sum(isinstance(a, InvalidCredentials) for a in answers) == 5


async def test_logins_from_one_ip_are_throttled() -> None:
    world = make_world(settings=TEST_SETTINGS.model_copy(update={"login_ip_attempts": 3}))
    await with_account(world)
    for _ in range(3):
        await world.call("login_start", login(password=PASSWORD))
    with pytest.raises(RateLimited) as limited:
        await world.call("login_start", login(password=PASSWORD))
    assert limited.value.retry_after == 15 * 60


async def test_otp_sends_from_one_ip_are_throttled() -> None:
    world = make_world(settings=TEST_SETTINGS.model_copy(update={"login_ip_otp_sends": 2}))
    await with_account(world)
    flow = await world.call("login_start", login(password=PASSWORD))
    await world.call("login_resend_otp", {"id": flow["id"], "flow_token": flow["flow_token"],
                                          "ip": IP})
    with pytest.raises(RateLimited):
        await world.call("login_resend_otp", {"id": flow["id"],
                                              "flow_token": flow["flow_token"], "ip": IP})


class _ReadAloud:
    """A stand-in voice: the 'recording' is the text itself, so a test can hear it."""

    async def render(self, text: str) -> bytes:
        return text.encode()


async def test_an_audio_captcha_reads_digits_and_answers_the_login() -> None:
    world = make_world(sounds=_ReadAloud())
    await with_account(world)
    await fail(world, 5)
    made = await world.call("captcha_new", {"ip": IP, "kind": "audio"})
    assert made["audio"].startswith("data:audio/wav;base64,")
    heard = base64.b64decode(made["audio"].split(",", 1)[1]).decode()
    assert heard.isdigit() and len(heard) == 6
    shown = base64.b64decode(made["image"].split(",", 1)[1]).decode()
    assert shown == heard  # the same code in the image, for whoever helps
    started = await world.call("login_start",
        login(password=PASSWORD, captcha={"id": made["captcha_id"], "answer": heard}))
    assert started["status"] == "otp_sent"
    # An image captcha carries no recording.
    assert "audio" not in await world.call("captcha_new", {"ip": IP})
