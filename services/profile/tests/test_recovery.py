"""Login options and the forgotten password against fakes: lost phone, reset, first login."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.profile.domain.errors import (
    FlowState,
    InvalidPhone,
    NoPasswordMethod,
    NotFound,
    OtpRejected,
    PasswordPolicy,
    RateLimited,
    SubscriberMismatch,
    Unauthenticated,
)
from services.profile.domain.models import Subscriber
from services.profile.tests.fakes import FakeSubscribers
from services.profile.tests.test_handlers import (
    ID_NUMBER,
    World,
    logged_in,
    make_world,
    started,
    with_account,
)

NEW_PHONE = "+84987654321"
NEW_PASSWORD = "Sen-Vang#2027vn"


def with_registry(owner: str = ID_NUMBER) -> World:
    """A world whose carrier registry has NEW_PHONE registered to ``owner``."""
    registry = FakeSubscribers()
    registry.rows[NEW_PHONE] = Subscriber(NEW_PHONE, owner, "Nguyễn Văn  AN", "1999-01-02",
                                          "active")
    return make_world(subscribers=registry)


def ref(flow: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": flow["id"], "flow_token": flow["flow_token"], **extra}


async def test_a_lost_phone_owned_by_the_holder_replaces_the_otp_phone() -> None:
    world = with_registry()
    await with_account(world)
    flow = await started(world)
    answer = await world.call("login_lost_phone", ref(flow, phone="0987 654 321"))
    assert answer["status"] == "otp_sent" and world.otp.issued[-1]["phone"] == NEW_PHONE
    done = await world.call("login_submit_otp", ref(flow, code=world.otp.code))
    assert done["status"] == "completed"
    assert [p.phone for p in world.store.accounts.rows["acc-1"].phones] == [NEW_PHONE]
    assert "OtpPhoneReplaced" in [e.type for e in world.store.published]


async def test_a_lost_phone_of_someone_else_changes_nothing() -> None:
    world = with_registry(owner="079200000000")
    await with_account(world)
    flow = await started(world)
    await world.call("login_lost_phone", ref(flow, phone=NEW_PHONE))
    with pytest.raises(SubscriberMismatch):
        await world.call("login_submit_otp", ref(flow, code=world.otp.code))
    assert [p.phone for p in world.store.accounts.rows["acc-1"].phones] == ["+84912345567"]
    assert world.store.sessions.rows == {}


async def test_a_lost_phone_must_be_a_vietnamese_mobile() -> None:
    world = make_world()
    await with_account(world)
    flow = await started(world)
    with pytest.raises(InvalidPhone):
        await world.call("login_lost_phone", ref(flow, phone="12345"))


async def test_a_password_reset_ends_every_session_and_needs_a_strong_password() -> None:
    world = make_world()
    session = await logged_in(world)
    reset = await world.call("reset_start", {"username": ID_NUMBER, "ip": "203.0.113.1"})
    with pytest.raises(FlowState):
        await world.call("reset_set_password", ref(reset, password=NEW_PASSWORD,
                                              password_confirmation=NEW_PASSWORD))
    assert (await world.call("reset_submit_otp", ref(reset, code=world.otp.code)))["status"] == \
        "awaiting_password"
    with pytest.raises(PasswordPolicy) as weak:
        await world.call("reset_set_password", ref(reset, password=f"Ab#{ID_NUMBER}",
                                              password_confirmation=f"Ab#{ID_NUMBER}"))
    assert "no_id_number" in [f["rule"] for f in weak.value.fields or []]
    done = await world.call("reset_set_password", ref(reset, password=NEW_PASSWORD,
                                                 password_confirmation=NEW_PASSWORD))
    assert done == {"status": "completed"}
    with pytest.raises(Unauthenticated):
        await world.call("authenticate", {"session_token": session["session_token"]})
    types = [e.type for e in world.store.published]
    assert "SessionRevoked" in types and "PasswordChanged" in types
    # The new password logs in.
    flow = await world.call("login_start", {"method": "password", "username": ID_NUMBER,
                                            "password": NEW_PASSWORD})
    assert flow["status"] == "otp_sent"


async def test_a_one_time_password_must_be_changed_before_the_otp() -> None:
    world = make_world()
    await with_account(world)
    world.store.accounts.rows["acc-1"].must_change_password = True
    before = world.store.accounts.rows["acc-1"].password_hash
    flow = await started(world)
    assert flow["status"] == "password_change_required" and world.otp.issued == []
    with pytest.raises(FlowState):
        await world.call("login_submit_otp", ref(flow, code=world.otp.code))
    answer = await world.call("login_change_password",
        ref(flow, new_password=NEW_PASSWORD, new_password_confirmation=NEW_PASSWORD))
    assert answer["status"] == "otp_sent"
    # Not saved before the OTP: the one-time password is still the account's.
    account = world.store.accounts.rows["acc-1"]
    assert account.must_change_password and account.password_hash == before
    assert "PasswordChanged" not in [e.type for e in world.store.published]
    with pytest.raises(OtpRejected):
        await world.call("login_submit_otp", ref(flow, code="000000"))
    assert world.store.accounts.rows["acc-1"].password_hash == before
    done = await world.call("login_submit_otp", ref(flow, code=world.otp.code))
    assert done["status"] == "completed"
    account = world.store.accounts.rows["acc-1"]
    assert not account.must_change_password and account.password_hash != before
    assert world.store.logins.rows[flow["id"]].pending_password_hash is None
    assert "PasswordChanged" in [e.type for e in world.store.published]


async def test_a_refused_send_leaves_the_flow_on_the_number_its_code_went_to() -> None:
    """The lost-phone code swap: a code to one number never opens a flow now naming another."""
    world = with_registry()  # NEW_PHONE is the holder's
    await with_account(world)
    flow = await started(world)
    await world.call("login_lost_phone", ref(flow, phone="0911 222 333"))  # the attacker's SIM
    world.otp.issue_error = OtpRejected("otp_resend_too_soon", retry_after=42)
    with pytest.raises(OtpRejected):
        await world.call("login_lost_phone", ref(flow, phone=NEW_PHONE))
    assert world.store.logins.rows[flow["id"]].new_phone == "+84911222333"
    with pytest.raises(SubscriberMismatch):  # checked on the number the code went to
        await world.call("login_submit_otp", ref(flow, code=world.otp.code))
    assert world.store.sessions.rows == {}


async def test_an_unknown_name_gets_the_same_answer_and_no_sms() -> None:
    world = make_world()
    await with_account(world)
    real = await world.call("reset_start", {"username": ID_NUMBER, "ip": "203.0.113.1"})
    decoy = await world.call("reset_start", {"username": "079200000000", "ip": "203.0.113.1"})
    again = await world.call("reset_start", {"username": "079200000000", "ip": "203.0.113.2"})
    assert set(real) == set(decoy) and decoy["status"] == "otp_sent"
    assert decoy["phone_masked"] == again["phone_masked"]
    assert len(decoy["phone_masked"]) == len(real["phone_masked"])
    assert [i["flow_id"] for i in world.otp.issued] == [real["id"]]
    for remaining in (4, 3, 2, 1):
        with pytest.raises(OtpRejected) as wrong:
            await world.call("reset_submit_otp", ref(decoy, code=world.otp.code))
        assert (wrong.value.code, wrong.value.detail) == \
            ("otp_invalid", f"Mã OTP không đúng. Bạn còn {remaining} lần nhập.")
    with pytest.raises(OtpRejected):
        await world.call("reset_submit_otp", ref(decoy, code=world.otp.code))
    with pytest.raises(OtpRejected) as exceeded:
        await world.call("reset_submit_otp", ref(decoy, code=world.otp.code))
    assert exceeded.value.code == "otp_attempts_exceeded"


async def test_reset_sms_are_capped_per_account_whatever_the_name_or_address() -> None:
    world = make_world()
    await with_account(world)
    world.store.accounts.rows["acc-1"].username = "BD0000000001"
    await world.call("reset_start", {"username": ID_NUMBER, "ip": "203.0.113.1"})
    await world.call("reset_start", {"username": "BD0000000001", "ip": "203.0.113.2"})
    with pytest.raises(RateLimited) as limited:
        await world.call("reset_start", {"username": ID_NUMBER, "ip": "203.0.113.3"})
    assert limited.value.retry_after == 3600
    assert len(world.otp.issued) == 2


async def test_a_reset_never_gives_a_passwordless_account_a_password() -> None:
    world = make_world()
    await with_account(world)
    world.store.accounts.rows["acc-1"].password_hash = None  # SIM or USB only
    reset = await world.call("reset_start", {"username": ID_NUMBER, "ip": "203.0.113.1"})
    with pytest.raises(NoPasswordMethod):  # told once the phone is proven
        await world.call("reset_submit_otp", ref(reset, code=world.otp.code))
    with pytest.raises(FlowState):
        await world.call("reset_set_password", ref(reset, password=NEW_PASSWORD,
                                              password_confirmation=NEW_PASSWORD))
    assert world.store.accounts.rows["acc-1"].password_hash is None


async def test_a_reset_code_can_be_sent_again_within_the_reset_sms_cap() -> None:
    world = make_world()
    await with_account(world)
    reset = await world.call("reset_start", {"username": ID_NUMBER, "ip": "203.0.113.1"})
    world.otp.issue_error = OtpRejected("otp_resend_too_soon", retry_after=30)
    with pytest.raises(OtpRejected):  # refused by the otp rules: no SMS, none counted
        await world.call("reset_resend_otp", ref(reset, ip="203.0.113.1"))
    world.otp.issue_error = None
    world.clock.advance(seconds=61)
    resent = await world.call("reset_resend_otp", ref(reset, ip="203.0.113.1"))
    assert set(resent) == {"status", "resend_available_at"} and resent["status"] == "otp_sent"
    assert [i["flow_id"] for i in world.otp.issued] == [reset["id"], reset["id"]]
    world.clock.advance(seconds=61)
    with pytest.raises(RateLimited):  # the start and one resend: the hour's two reset SMS
        await world.call("reset_resend_otp", ref(reset, ip="203.0.113.1"))
    assert len(world.otp.issued) == 2
    with pytest.raises(NotFound):
        await world.call("reset_resend_otp", ref(reset, flow_token="not-the-token"))


async def test_a_decoy_reset_resends_by_the_otp_services_rules_and_sends_nothing() -> None:
    world = make_world()
    decoy = await world.call("reset_start", {"username": "079200000000", "ip": "203.0.113.1"})
    with pytest.raises(OtpRejected) as early:
        await world.call("reset_resend_otp", ref(decoy))
    assert early.value.code == "otp_resend_too_soon" and early.value.retry_after == 60
    world.clock.advance(seconds=61)
    resent = await world.call("reset_resend_otp", ref(decoy))
    assert set(resent) == {"status", "resend_available_at"}
    assert resent["resend_available_at"] == (world.clock.now + timedelta(seconds=60)).isoformat()
    world.clock.advance(seconds=61)
    with pytest.raises(RateLimited):
        await world.call("reset_resend_otp", ref(decoy))
    assert world.otp.issued == []


async def test_a_decoy_reset_refuses_a_resend_after_five_wrong_codes() -> None:
    world = make_world()
    decoy = await world.call("reset_start", {"username": "079200000000", "ip": "203.0.113.1"})
    for _ in range(5):
        with pytest.raises(OtpRejected):
            await world.call("reset_submit_otp", ref(decoy, code="000000"))
    world.clock.advance(seconds=61)
    with pytest.raises(OtpRejected) as locked:
        await world.call("reset_resend_otp", ref(decoy))
    assert locked.value.code == "otp_attempts_exceeded"
