"""Use cases with fakes of the ports (no servers): every rule of issue, verify and the
RegistrationRequested consumer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest

from services.otp.domain.errors import (
    ChallengeNotFound,
    OtpAttemptsExceeded,
    OtpExpired,
    OtpInvalid,
    OtpResendTooSoon,
    OtpSendLimit,
    SmsFailed,
)
from services.otp.domain.model import hash_code
from services.otp.domain.ports import SmsDeliveryError
from services.otp.handlers import OtpService
from services.otp.tests.fakes import FakeChallenges, FakeSms, FakeState, FakeTransactions
from shared.clock import FrozenClock
from shared.contracts.otp import IssueOtp, OtpPurpose, VerifyOtp
from shared.events import RegistrationRequested, new_event

SECRET = "test-otp-secret"
PHONE = "+84912345678"


@dataclass
class World:
    service: OtpService
    tx: FakeTransactions
    state: FakeState
    sms: FakeSms
    clock: FrozenClock


@pytest.fixture
def world() -> World:
    state = FakeState()
    tx = FakeTransactions(state)
    sms = FakeSms()
    clock = FrozenClock()
    service = OtpService(tx, FakeChallenges(state), sms, clock, SECRET)
    return World(service, tx, state, sms, clock)


def issue_cmd(flow_id: str = "flow-1", phone: str = PHONE,
              purpose: OtpPurpose = "registration") -> IssueOtp:
    return IssueOtp(flow_id=flow_id, purpose=purpose, phone=phone)


def verify_cmd(code: str, flow_id: str = "flow-1", purpose: OtpPurpose = "registration",
               phone: str = PHONE) -> VerifyOtp:
    return VerifyOtp(flow_id=flow_id, purpose=purpose, code=code, phone=phone)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_issue_stores_only_a_keyed_hash_and_sends_the_code(world: World) -> None:
    reply = await world.service.issue(issue_cmd())
    code = world.sms.last_code()
    challenge = world.state.challenges[reply.challenge_id]
    assert world.sms.sent[0].to == PHONE
    assert "5 phut" in world.sms.sent[0].body
    assert challenge.code_hash == hash_code(SECRET, challenge.id, PHONE, code)
    assert code not in repr(world.state)
    now = world.clock.now
    assert reply.wire() == {
        "challenge_id": challenge.id,
        "phone_masked": "+8491****678",
        "expires_at": (now + timedelta(minutes=5)).isoformat(),
        "resend_available_at": (now + timedelta(seconds=60)).isoformat(),
    }
    [sent] = world.tx.events_of("OtpSent")
    assert sent.correlation_id == "flow-1"
    # No phone: no consumer of OtpSent needs it (issue 11).
    assert sent.payload == {"flow_id": "flow-1", "purpose": "registration", "phone": None,
                            "challenge_id": challenge.id, "expires_at": reply.expires_at}


async def test_a_right_code_verifies_once(world: World) -> None:
    reply = await world.service.issue(issue_cmd())
    code = world.sms.last_code()
    world.clock.advance(minutes=4)
    result = await world.service.verify(verify_cmd(code))
    assert result.wire() == {"verified": True, "phone": PHONE, "challenge_id": reply.challenge_id}
    [verified] = world.tx.events_of("OtpVerified")
    assert verified.correlation_id == "flow-1"
    assert verified.payload["challenge_id"] == reply.challenge_id
    with pytest.raises(OtpExpired):
        await world.service.verify(verify_cmd(code))
    assert len(world.tx.events_of("OtpVerified")) == 1


async def test_the_code_is_bound_to_its_purpose_and_flow(world: World) -> None:
    await world.service.issue(issue_cmd())
    code = world.sms.last_code()
    with pytest.raises(ChallengeNotFound):
        await world.service.verify(verify_cmd(code, purpose="login"))
    with pytest.raises(ChallengeNotFound):
        await world.service.verify(verify_cmd(code, flow_id="flow-2"))


async def test_the_code_is_bound_to_the_number_it_was_sent_to(world: World) -> None:
    reply = await world.service.issue(issue_cmd())
    code = world.sms.last_code()
    # The right code named for another number is a wrong entry, and counts as one.
    with pytest.raises(OtpInvalid):
        await world.service.verify(verify_cmd(code, phone="+84987654321"))
    assert world.state.challenges[reply.challenge_id].failures == 1
    # A resend to another number: the first code is dead for both numbers.
    world.clock.advance(seconds=61)
    await world.service.issue(issue_cmd(phone="+84987654321"))
    with pytest.raises(OtpInvalid):
        await world.service.verify(verify_cmd(code, phone="+84987654321"))
    with pytest.raises(OtpInvalid):
        await world.service.verify(verify_cmd(code))
    second = world.sms.last_code()
    assert (await world.service.verify(verify_cmd(second, phone="+84987654321"))).verified


async def test_an_expired_code_is_refused_and_not_counted(world: World) -> None:
    reply = await world.service.issue(issue_cmd())
    code = world.sms.last_code()
    world.clock.advance(minutes=5)
    with pytest.raises(OtpExpired):
        await world.service.verify(verify_cmd(code))
    with pytest.raises(OtpExpired):
        await world.service.verify(verify_cmd(wrong(code)))
    assert world.state.challenges[reply.challenge_id].failures == 0


async def test_wrong_entries_say_how_many_tries_remain_then_lock(world: World) -> None:
    reply = await world.service.issue(issue_cmd())
    code = world.sms.last_code()
    for remaining in (4, 3, 2, 1, 0):
        with pytest.raises(OtpInvalid) as err:
            await world.service.verify(verify_cmd(wrong(code)))
        assert err.value.remaining == remaining
    assert "còn 4 lần" not in err.value.detail
    with pytest.raises(OtpAttemptsExceeded):
        await world.service.verify(verify_cmd(wrong(code)))
    with pytest.raises(OtpAttemptsExceeded):  # even the right code, now
        await world.service.verify(verify_cmd(code))
    assert world.state.challenges[reply.challenge_id].failures == 5
    [failed] = world.tx.events_of("OtpFailed")
    assert failed.payload["reason"] == "otp_attempts_exceeded"
    assert not world.tx.events_of("OtpVerified")


async def test_failures_survive_a_resend_and_a_locked_challenge_gets_no_new_code(
        world: World) -> None:
    first = await world.service.issue(issue_cmd())
    code = world.sms.last_code()
    for _ in range(3):
        with pytest.raises(OtpInvalid):
            await world.service.verify(verify_cmd(wrong(code)))
    world.clock.advance(seconds=60)
    second = await world.service.issue(issue_cmd())
    assert second.challenge_id == first.challenge_id
    new = world.sms.last_code()
    with pytest.raises(OtpInvalid) as err:
        await world.service.verify(verify_cmd(wrong(new)))
    assert err.value.remaining == 1
    with pytest.raises(OtpInvalid):
        await world.service.verify(verify_cmd(wrong(new)))
    world.clock.advance(seconds=60)
    with pytest.raises(OtpAttemptsExceeded):
        await world.service.issue(issue_cmd())
    assert len(world.sms.sent) == 2


async def test_a_resend_replaces_the_code(world: World) -> None:
    await world.service.issue(issue_cmd())
    old = world.sms.last_code()
    world.clock.advance(seconds=61)
    await world.service.issue(issue_cmd())
    new = world.sms.last_code()
    if old != new:  # one chance in a million that they are equal
        with pytest.raises(OtpInvalid):
            await world.service.verify(verify_cmd(old))
    assert (await world.service.verify(verify_cmd(new))).verified is True


async def test_a_resend_waits_sixty_seconds(world: World) -> None:
    await world.service.issue(issue_cmd())
    world.clock.advance(seconds=20)
    with pytest.raises(OtpResendTooSoon) as err:
        await world.service.issue(issue_cmd())
    assert err.value.retry_after == 40
    assert err.value.to_error()["retry_after"] == 40
    assert len(world.sms.sent) == 1
    assert len(world.tx.events_of("OtpSent")) == 1
    world.clock.advance(seconds=40)
    await world.service.issue(issue_cmd())
    assert len(world.sms.sent) == 2


async def test_a_new_code_after_verification_can_be_verified_again(world: World) -> None:
    await world.service.issue(issue_cmd())
    await world.service.verify(verify_cmd(world.sms.last_code()))
    world.clock.advance(seconds=60)
    await world.service.issue(issue_cmd())
    assert (await world.service.verify(verify_cmd(world.sms.last_code()))).verified


async def test_at_most_five_sends_per_phone_in_a_rolling_hour(world: World) -> None:
    for i in range(5):
        await world.service.issue(issue_cmd(flow_id=f"flow-{i}"))
        world.clock.advance(minutes=10)
    # 50 minutes after the first send: the sixth is refused until the first leaves the hour.
    with pytest.raises(OtpSendLimit) as err:
        await world.service.issue(issue_cmd(flow_id="flow-5"))
    assert err.value.retry_after == 10 * 60
    assert not any(c.flow_id == "flow-5" for c in world.state.challenges.values())
    # Another phone is not affected.
    await world.service.issue(issue_cmd(flow_id="flow-5", phone="+84987654321"))
    world.clock.advance(minutes=10)
    await world.service.issue(issue_cmd(flow_id="flow-6"))
    with pytest.raises(OtpSendLimit) as err:
        await world.service.issue(issue_cmd(flow_id="flow-7"))
    assert err.value.retry_after == 10 * 60  # rolling: the second send leaves in 10 minutes
    assert len([s for s in world.sms.sent if s.to == PHONE]) == 6


async def test_resends_count_towards_the_phone_limit(world: World) -> None:
    for _ in range(5):
        await world.service.issue(issue_cmd())
        world.clock.advance(seconds=60)
    with pytest.raises(OtpSendLimit):
        await world.service.issue(issue_cmd())


async def test_a_refused_sms_stores_nothing_usable_and_reports_it(world: World) -> None:
    world.sms.fail_with = SmsDeliveryError("invalid number", status=400, provider_code=21211)
    with pytest.raises(SmsFailed) as err:
        await world.service.issue(issue_cmd())
    assert err.value.to_error()["code"] == "sms_failed"
    [challenge] = world.state.challenges.values()
    assert challenge.code_hash is None
    [failed] = world.tx.events_of("OtpFailed")
    assert failed.payload == {"flow_id": "flow-1", "purpose": "registration", "phone": None,
                              "reason": "sms_failed"}
    assert failed.correlation_id == "flow-1"
    # Whatever code was generated, it verifies as nothing.
    for code in ("000000", "123456"):
        with pytest.raises(OtpExpired):
            await world.service.verify(verify_cmd(code))
    # After the resend interval a new attempt can succeed.
    world.sms.fail_with = None
    world.clock.advance(seconds=60)
    await world.service.issue(issue_cmd())
    assert (await world.service.verify(verify_cmd(world.sms.last_code()))).verified


async def test_no_code_ever_reaches_an_event(world: World) -> None:
    await world.service.issue(issue_cmd())
    code = world.sms.last_code()
    with pytest.raises(OtpInvalid):
        await world.service.verify(verify_cmd(wrong(code)))
    await world.service.verify(verify_cmd(code))
    dumped = json.dumps([e.model_dump(mode="json") for e in world.tx.events])
    assert code not in dumped and wrong(code) not in dumped


def _requested(registration_id: str = "reg-1") -> object:
    return new_event(RegistrationRequested(registration_id=registration_id, method="mobile",
                                           subject_type="citizen", phone=PHONE),
                     correlation_id=registration_id)


async def test_registration_requested_issues_once_even_when_redelivered(world: World) -> None:
    event = _requested()
    await world.service.on_registration_requested(event)  # type: ignore[arg-type]
    await world.service.on_registration_requested(event)  # type: ignore[arg-type]
    world.clock.advance(minutes=2)  # a late redelivery, after the resend interval
    await world.service.on_registration_requested(event)  # type: ignore[arg-type]
    assert len(world.sms.sent) == 1
    [sent] = world.tx.events_of("OtpSent")
    assert sent.causation_id == event.id  # type: ignore[attr-defined]
    assert sent.correlation_id == "reg-1"
    result = await world.service.verify(verify_cmd(world.sms.last_code(), flow_id="reg-1"))
    assert result.verified is True


async def test_a_refused_registration_otp_is_recorded_once(world: World) -> None:
    for i in range(5):
        await world.service.issue(issue_cmd(flow_id=f"other-{i}"))
    event = _requested()
    await world.service.on_registration_requested(event)  # type: ignore[arg-type]
    await world.service.on_registration_requested(event)  # type: ignore[arg-type]
    failed = world.tx.events_of("OtpFailed")
    assert [e.payload["reason"] for e in failed] == ["otp_send_limit"]
    assert failed[0].correlation_id == "reg-1"
    assert len(world.sms.sent) == 5


async def test_an_sms_failure_on_the_consumer_path_is_recorded_once(world: World) -> None:
    world.sms.fail_with = SmsDeliveryError("down", status=503)
    event = _requested()
    await world.service.on_registration_requested(event)  # type: ignore[arg-type]
    world.sms.fail_with = None
    await world.service.on_registration_requested(event)  # type: ignore[arg-type]
    assert world.sms.sent == []
    assert [e.payload["reason"] for e in world.tx.events_of("OtpFailed")] == ["sms_failed"]
