"""Step-up (``handlers/settings/step_up.py``), the level a change needs, and the notices of
changes (``handlers/settings/notices.py``) against fakes and a frozen clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.profile.domain.errors import (
    Forbidden,
    InsufficientAssurance,
    InvalidCredentials,
    NotFound,
    ReauthenticationRequired,
)
from services.profile.domain.models import AuthMethod
from services.profile.domain.step_up import notice_time
from services.profile.handlers.settings.notices import SecurityNotices
from services.profile.tests.test_account_management import (
    NEW_PASSWORD,
    PASSWORD,
    T0,
    World,
    add_account,
    change,
    open_session,
    proof,
    world,
)
from shared import crypto

__all__ = ["world"]  # the fixture, shared with test_account_management

CHROME_ON_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                     "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
BOUND = "ab" * 32


class ServedStepUps:
    """The step-up's endpoints (``me_reauth_*``) as the service serves them."""

    def __init__(self, world: World) -> None:
        self.start = world.accounts.me_reauth_start
        self.get = world.accounts.me_reauth_get
        self.submit_otp = world.accounts.me_reauth_otp
        self.submit_signature = world.accounts.me_reauth_signature


def step_ups(world: World) -> ServedStepUps:
    return ServedStepUps(world)


def with_usb(world: World, fingerprint: str = BOUND) -> None:
    world.store.accounts.rows["acc-1"].auth_methods.append(AuthMethod(
        "acc-1-usb", "usb", T0, details={"fingerprint_sha256": fingerprint, "serial": "0a1b"}))
    world.store.accounts.rows["acc-1"].level = 3


class Sent:
    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []
        self.mails: list[tuple[str, str]] = []

    async def security_change(self, phone: str, change: str, at: str, device: str) -> None:
        self.messages.append({"phone": phone, "change": change, "at": at, "device": device})

    async def security_change_email(self, email: str, change: str, at: str,
                                    device: str) -> bool:
        self.mails.append((email, change))
        return True


# --- how strong ------------------------------------------------------------------------------

async def test_level3_methods_need_a_signature_step_up_once_the_account_has_one(
        world: World) -> None:
    add_account(world, phones=2)
    with_usb(world)
    token, _ = open_session(world, stepped_up=2)
    with pytest.raises(InsufficientAssurance) as refused:
        await world.accounts.me_add_method({"session_token": token, "type": "usb"})
    assert refused.value.to_error()["code"] == "insufficient_assurance"
    with pytest.raises(InsufficientAssurance):
        await world.accounts.me_remove_method({"session_token": token,
                                               "method_id": "acc-1-usb"})
    # A level-2 method needs no more than a level-2 step-up.
    await world.accounts.me_remove_method({"session_token": token, "method_id": "acc-1-sms0"})
    strong, _ = open_session(world, stepped_up=3)
    await world.accounts.me_remove_method({"session_token": strong, "method_id": "acc-1-usb"})


async def test_a_level2_account_binds_its_first_token_with_a_level2_step_up(
        world: World) -> None:
    add_account(world)
    token, _ = open_session(world, stepped_up=2)
    flow = await world.accounts.me_add_method({"session_token": token, "type": "usb"})
    assert flow["status"] == "awaiting_signature"
    bare, _ = open_session(world, stepped_up=None)
    with pytest.raises(ReauthenticationRequired):
        await world.accounts.me_add_method({"session_token": bare, "type": "usb"})


async def test_ending_another_session_needs_a_step_up_ending_ones_own_does_not(
        world: World) -> None:
    add_account(world)
    token, current = open_session(world, stepped_up=None)
    _, other = open_session(world, stepped_up=None)
    with pytest.raises(ReauthenticationRequired):
        await world.accounts.me_end_session({"session_token": token, "session_id": other})
    assert world.store.sessions.rows[other].revoked_at is None
    await world.accounts.me_end_session({"session_token": token, "session_id": current})
    assert world.store.sessions.rows[current].revoked_at is not None


# --- the step-up flows -------------------------------------------------------------------

async def test_password_step_up_then_otp_marks_the_session(world: World) -> None:
    add_account(world)
    token, session_id = open_session(world, stepped_up=None)
    other, _ = open_session(world, stepped_up=None)
    ups = step_ups(world)
    with pytest.raises(InvalidCredentials):
        await ups.start({"session_token": token, "method": "password", "password": "Sai#1234"})
    assert world.otp.issued == []
    flow = await ups.start({"session_token": token, "method": "password",
                            "password": PASSWORD})
    assert flow["status"] == "otp_sent" and flow["phone_masked"] == "+8491****000"
    assert world.otp.issued[-1] | {"flow_id": "x"} == {
        "flow_id": "x", "purpose": "reauthentication", "phone": "+84912345000"}
    # Only the session that started it may finish it.
    with pytest.raises(NotFound):
        await ups.submit_otp({"session_token": other, "id": flow["id"], "code": "123456"})
    done = await ups.submit_otp({"session_token": token, "id": flow["id"], "code": "123456"})
    assert done["level"] == 2 and done["reauthenticated_at"] == T0.isoformat()
    assert done["valid_until"] == (T0 + timedelta(minutes=5)).isoformat()
    assert world.store.sessions.rows[session_id].reauthenticated_level == 2
    await world.accounts.me_change_password(change(token))
    assert await crypto.verify_password(world.store.accounts.rows["acc-1"].password_hash,
                                        NEW_PASSWORD)


async def test_usb_step_up_counts_only_with_a_bound_certificate(world: World) -> None:
    add_account(world)
    with_usb(world)
    token, session_id = open_session(world, stepped_up=None)
    ups = step_ups(world)
    world.pki.proof = proof(fingerprint="cd" * 32)  # the owner's name, not bound
    flow = await ups.start({"session_token": token, "method": "usb"})
    with pytest.raises(Forbidden):
        await ups.submit_signature({"session_token": token, "id": flow["id"],
                                    "certificate": "PEM", "signature": "c2ln"})
    assert world.store.sessions.rows[session_id].reauthenticated_at is None
    world.pki.proof = proof(fingerprint=BOUND)
    flow = await ups.start({"session_token": token, "method": "usb"})
    done = await ups.submit_signature({"session_token": token, "id": flow["id"],
                                       "certificate": "PEM", "signature": "c2ln"})
    assert done["level"] == 3
    await world.accounts.me_remove_method({"session_token": token, "method_id": "acc-1-usb"})


async def test_sim_step_up_completes_on_the_read_that_sees_the_approval(world: World) -> None:
    add_account(world)
    world.store.accounts.rows["acc-1"].auth_methods.append(AuthMethod(
        "acc-1-sim", "sim", T0, details={"fingerprint_sha256": BOUND, "serial": "0a1b"}))
    token, session_id = open_session(world, stepped_up=None)
    ups = step_ups(world)
    flow = await ups.start({"session_token": token, "method": "sim", "phone": "0912345999"})
    assert flow["verification_code"] == "1234" and flow["status"] == "awaiting_signature"
    assert (await ups.get({"session_token": token, "id": flow["id"]}))["status"] \
        == "awaiting_signature"
    world.pki.approved = True
    done = await ups.get({"session_token": token, "id": flow["id"]})
    assert done["status"] == "completed" and done["level"] == 3
    assert world.store.sessions.rows[session_id].reauthenticated_level == 3


async def test_sim_step_up_needs_a_sim_method(world: World) -> None:
    add_account(world)
    token, _ = open_session(world, stepped_up=None)
    with pytest.raises(Forbidden):
        await step_ups(world).start({"session_token": token, "method": "sim",
                                     "phone": "0912345000"})


# --- notices -----------------------------------------------------------------------------

async def test_a_change_is_told_to_the_phones_the_account_had_before(world: World) -> None:
    add_account(world, phones=2)
    token, _ = open_session(world, user_agent=CHROME_ON_WINDOWS)
    flow = await world.accounts.me_add_method({"session_token": token, "type": "sms",
                                               "phone": "0987654321"})
    await world.accounts.me_method_otp({"session_token": token, "id": flow["id"],
                                        "flow_token": flow["flow_token"], "code": "123456"})
    [added] = world.events("SecurityNoticeRequested")
    assert added == {"account_id": "acc-1", "change": "sms_added",
                     "phone_ids": ["acc-1-ph0", "acc-1-ph1"], "at": T0.isoformat(),
                     "device": "Chrome tren Windows", "email": True}
    await world.accounts.me_remove_method({"session_token": token, "method_id": "acc-1-sms0"})
    removed = world.events("SecurityNoticeRequested")[-1]
    assert removed["change"] == "method_removed" and "acc-1-ph0" in removed["phone_ids"]

    sent = Sent()
    notices = SecurityNotices(uow=world.uow, sender=sent)
    events = [e for e in world.store.published if e.type == "SecurityNoticeRequested"]
    for event in events + events:  # each delivered twice: told once
        await notices.on_notice_requested(event)
    assert [(m["phone"], m["change"]) for m in sent.messages] == [
        ("+84912345000", "sms_added"), ("+84912345001", "sms_added"),
        ("+84912345000", "method_removed"), ("+84912345001", "method_removed"),
        ("+84987654321", "method_removed")]
    assert sent.messages[0]["at"] == "07:00 01/01/2026"
    assert sent.mails == [("an@example.vn", "sms_added"), ("an@example.vn", "method_removed")]


async def test_a_new_e_mail_is_told_to_the_old_address_not_the_new_one(world: World) -> None:
    add_account(world)
    token, _ = open_session(world)
    await world.accounts.me_update({"session_token": token, "email": "ke.gian@example.vn"})
    [event] = [e for e in world.store.published if e.type == "SecurityNoticeRequested"]
    sent = Sent()
    await SecurityNotices(uow=world.uow, sender=sent).on_notice_requested(event)
    assert sent.mails == [("an@example.vn", "email_changed")]
    assert [m["phone"] for m in sent.messages] == ["+84912345000"]


async def test_password_change_and_ended_sessions_are_told(world: World) -> None:
    add_account(world)
    token, _ = open_session(world)
    _, other = open_session(world)
    await world.accounts.me_end_session({"session_token": token, "session_id": other})
    await world.accounts.me_change_password(change(token))
    await world.accounts.me_update({"session_token": token, "email": "moi@example.vn"})
    assert [e["change"] for e in world.events("SecurityNoticeRequested")] == [
        "session_ended", "password_changed", "email_changed"]


def test_the_time_of_a_notice_is_hanoi_time() -> None:
    assert notice_time(T0) == "07:00 01/01/2026"


