"""SIM push fatigue: one prompt waits on a phone at a time, a few per 15 minutes and per hour;
the display text names the purpose and shows the verification code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.pki.domain.certificates import TrustStore
from services.pki.domain.errors import SimPromptLimit, SimRejected
from services.pki.domain.ports import MobileSignatureStatus
from services.pki.domain.sim_prompts import PromptHistory, PromptLimits, display_text, free_at
from services.pki.handlers import PkiService
from services.pki.tests.fakes import FakeTransactions, FixedRevocation, ScriptedProvider
from shared.clock import FrozenClock
from shared.contracts.pki import SimStatus, StartSim

NOW = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
LIMITS = PromptLimits()
PHONE = "+84912000222"


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_a_waiting_prompt_holds_the_phone_until_it_expires() -> None:
    history = PromptHistory(recent=[NOW], hourly=[NOW], pending_until=NOW + minutes(5))
    assert free_at(history, NOW + minutes(1), LIMITS) == NOW + minutes(5)
    assert free_at(history, NOW + minutes(5), LIMITS) is None


def test_five_prompts_in_15_minutes_then_wait_for_the_oldest_to_leave_the_window() -> None:
    sent = [NOW + minutes(i) for i in range(5)]
    history = PromptHistory(recent=sent, hourly=sent)
    assert free_at(history, NOW + minutes(5), LIMITS) == NOW + minutes(15)
    assert free_at(history, NOW + minutes(15), LIMITS) is None
    assert free_at(PromptHistory(recent=sent[:4], hourly=sent[:4]), NOW + minutes(5),
                   LIMITS) is None


def test_ten_prompts_an_hour() -> None:
    sent = [NOW + minutes(4 * i) for i in range(10)]
    history = PromptHistory(recent=sent[-5:], hourly=sent)
    assert free_at(history, NOW + minutes(40), LIMITS) == NOW + minutes(60)


@pytest.mark.parametrize(("purpose", "words"), [("registration", "dang ky"),
                                                ("login", "dang nhap"),
                                                ("add_method", "them phuong thuc")])
def test_the_display_text_names_the_purpose_and_the_code(purpose: str, words: str) -> None:
    text = display_text(purpose, "0427")
    assert words in text and "0427" in text and text.isascii()


def service(clock: FrozenClock, provider: ScriptedProvider) -> PkiService:
    return PkiService(FakeTransactions(), TrustStore([]), FixedRevocation(), provider, clock)


def start(flow_id: str, purpose: str = "login") -> StartSim:
    return StartSim.model_validate({"flow_id": flow_id, "purpose": purpose, "phone": PHONE})


async def test_one_prompt_at_a_time_and_a_finished_one_frees_the_phone() -> None:
    clock, provider = FrozenClock(NOW), ScriptedProvider()
    pki = service(clock, provider)
    started = await pki.sim_start(start("f1"))
    assert started.verification_code in provider.texts[0]
    assert "dang nhap" in provider.texts[0]
    with pytest.raises(SimPromptLimit) as refused:
        await pki.sim_start(start("f2", "registration"))
    assert refused.value.code == "rate_limited" and refused.value.retry_after == 300
    assert len(provider.started) == 1  # the SIM was not asked
    provider.answer = MobileSignatureStatus(state="COMPLETE", result="USER_CANCELLED")
    with pytest.raises(SimRejected):
        await pki.sim_status(SimStatus.model_validate({"flow_id": "f1", "purpose": "login"}))
    await pki.sim_start(start("f2", "registration"))
    assert len(provider.started) == 2


async def test_the_sixth_prompt_in_15_minutes_is_refused() -> None:
    clock, provider = FrozenClock(NOW), ScriptedProvider()
    pki = service(clock, provider)
    provider.answer = MobileSignatureStatus(state="COMPLETE", result="USER_CANCELLED")
    for i in range(5):
        await pki.sim_start(start(f"f{i}"))
        with pytest.raises(SimRejected):
            await pki.sim_status(SimStatus.model_validate({"flow_id": f"f{i}", "purpose": "login"}))
        clock.advance(seconds=30)
    with pytest.raises(SimPromptLimit) as refused:
        await pki.sim_start(start("f5"))
    assert refused.value.retry_after == 15 * 60 - 5 * 30
    assert len(provider.started) == 5


def test_portal_origins_are_checked() -> None:
    from services.pki.domain.challenge import checked_origin, message

    assert message("https://dichvucong.gov.vn", b"\1" * 32) == (
        b"dvcid-auth-v1\0https://dichvucong.gov.vn\0" + b"\1" * 32)
    for bad in ("dichvucong.gov.vn", "https://dichvucong.gov.vn/", "https://a.vn/path",
                "https://xn--\u0111.vn", "ftp://a.vn"):
        with pytest.raises(ValueError):
            checked_origin(bad)
