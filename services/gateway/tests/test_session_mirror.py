"""The gateway's session mirror (issue 13) on fakes: a hit answers without profile, a miss asks
profile, a revoked entry is refused at once, the idle and absolute expiries hand the decision
back to profile, the watch's updates apply, touches are coalesced into one batch, ``me`` is
kept under the account's version, and an unsafe answer waits for the mirror to catch up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway import session_mirror
from services.gateway.problems import Problem
from services.gateway.session_mirror import SessionMirror
from shared.contracts import profile as PROFILE
from shared.contracts.base import Contract, Empty, Rpc
from shared.contracts.session_mirror import (
    SESSIONS_TOUCH,
    MirroredAccount,
    MirroredSession,
    MirroredToken,
    SessionTouches,
    account_key,
    session_key,
    token_key,
)

NOW = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
IDLE = timedelta(minutes=30)
TOKEN = "t" * 43
ME = {"account_id": "acc-1", "subject_type": "citizen", "level": 2,
      "identity": {"full_name": "Nguyễn Văn An"},
      "contacts": {"phones": [], "email": None, "address": None},
      "editable": ["email", "address"]}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class FakeRpc:
    """Profile as the mirror asks it: ``me`` answers ME, touches are recorded."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, Contract]] = []
        self.failing = False

    async def ask(self, rpc: Rpc[Any, Any], request: Contract) -> Contract:
        self.asked.append((rpc.endpoint, request))
        if self.failing:
            raise ConnectionError("profile away")
        if rpc == PROFILE.ME:
            return PROFILE.AccountView.model_validate(ME)
        assert rpc == SESSIONS_TOUCH
        return Empty()


def state(**changes: Any) -> MirroredSession:
    values: dict[str, Any] = dict(account_id="acc-1", session_id="s-1", level=2,
                                  expires_at=NOW + timedelta(hours=12),
                                  idle_expires_at=NOW + IDLE,
                                  idle_seconds=IDLE.total_seconds())
    return MirroredSession(**values | changes)


def put(mirror: SessionMirror, key: str, value: Contract, revision: int = 1) -> None:
    mirror.apply(key, value.model_dump_json().encode(), None, revision)


@pytest.fixture
def world() -> tuple[SessionMirror, FakeRpc, Clock]:
    rpc, clock = FakeRpc(), Clock()
    mirror = SessionMirror(rpc, clock)  # type: ignore[arg-type]
    mirror.ready = True
    put(mirror, token_key(TOKEN), MirroredToken(session_id="s-1"))
    put(mirror, session_key("s-1"), state(), 2)
    return mirror, rpc, clock


def test_a_hit_answers_the_session_without_asking_profile(world: Any) -> None:
    mirror, rpc, _ = world
    found = mirror.check(TOKEN)
    assert found is not None and (found.account_id, found.session_id, found.level) == (
        "acc-1", "s-1", 2)
    assert rpc.asked == []


def test_an_unknown_token_or_a_mirror_not_loaded_asks_profile(world: Any) -> None:
    mirror, _, _ = world
    assert mirror.check("another-token") is None
    mirror.ready = False
    assert mirror.check(TOKEN) is None


def test_a_revoked_session_is_refused_with_profiles_problem(world: Any) -> None:
    mirror, rpc, _ = world
    put(mirror, session_key("s-1"), state(revoked=True), 3)  # the watch's update
    with pytest.raises(Problem) as refused:
        mirror.check(TOKEN)
    assert refused.value.code == "unauthenticated" and refused.value.status == 401
    assert rpc.asked == []


async def test_past_the_idle_or_absolute_expiry_profile_decides(world: Any) -> None:
    mirror, _, clock = world
    clock.now = NOW + IDLE
    assert mirror.check(TOKEN) is None
    put(mirror, session_key("s-1"), state(idle_expires_at=NOW + timedelta(hours=13)), 3)
    clock.now = NOW + timedelta(hours=12)
    assert mirror.check(TOKEN) is None


async def test_a_use_seen_here_slides_the_idle_expiry_until_profile_hears_of_it(
        world: Any) -> None:
    mirror, _, clock = world
    clock.now = NOW + timedelta(minutes=20)
    assert mirror.check(TOKEN) is not None
    clock.now = NOW + timedelta(minutes=40)  # past the mirrored idle expiry, not past ours
    assert mirror.check(TOKEN) is not None
    clock.now = NOW + timedelta(minutes=71)  # 31 minutes without a use
    assert mirror.check(TOKEN) is None


async def test_touches_are_coalesced_into_one_batch_and_kept_when_it_fails(world: Any) -> None:
    mirror, rpc, clock = world
    put(mirror, token_key("u" * 43), MirroredToken(session_id="s-2"), 3)
    put(mirror, session_key("s-2"), state(session_id="s-2"), 4)
    for minute in (1, 2, 3):
        clock.now = NOW + timedelta(minutes=minute)
        mirror.check(TOKEN)
        mirror.check("u" * 43)
    rpc.failing = True
    with pytest.raises(ConnectionError):
        await mirror.flush()
    rpc.failing = False
    await mirror.flush()
    batches = [request for endpoint, request in rpc.asked if endpoint == "sessions_touch"]
    assert len(batches) == 2
    last = batches[-1]
    assert isinstance(last, SessionTouches)
    assert {(t.session_id, t.seen_at) for t in last.touches} == {
        ("s-1", NOW + timedelta(minutes=3)), ("s-2", NOW + timedelta(minutes=3))}
    await mirror.flush()
    assert len([e for e, _ in rpc.asked if e == "sessions_touch"]) == 2  # nothing pending


async def test_me_is_kept_under_the_accounts_version(world: Any) -> None:
    mirror, rpc, _ = world
    put(mirror, account_key("acc-1"), MirroredAccount(version="v1"), 5)
    assert await mirror.me(TOKEN) == ME
    assert await mirror.me(TOKEN) == ME
    assert [e for e, _ in rpc.asked] == ["me"]
    put(mirror, account_key("acc-1"), MirroredAccount(version="v2"), 6)  # profile's bump
    await mirror.me(TOKEN)
    assert [e for e, _ in rpc.asked] == ["me", "me"]


async def test_me_of_a_session_the_mirror_does_not_know_asks_profile_each_time(
        world: Any) -> None:
    mirror, rpc, _ = world
    await mirror.me("v" * 43)
    await mirror.me("v" * 43)
    assert [e for e, _ in rpc.asked] == ["me", "me"]


def test_a_removed_entry_is_a_miss_again(world: Any) -> None:
    mirror, _, _ = world
    mirror.apply(session_key("s-1"), None, "PURGE", 9)
    assert mirror.check(TOKEN) is None


class FakeNats:
    """What the barrier asks of NATS: the bucket stream's last sequence."""

    def __init__(self, last_seq: int) -> None:
        self.last_seq = last_seq

    def jetstream(self) -> FakeNats:
        return self

    async def stream_info(self, name: str) -> Any:
        assert name == "KV_DVCID_SESSIONS"
        return SimpleNamespace(state=SimpleNamespace(last_seq=self.last_seq))


async def test_an_unsafe_answer_waits_until_the_mirror_holds_every_write_so_far(
        world: Any) -> None:
    mirror, _, _ = world
    waiting = asyncio.create_task(mirror.catch_up(FakeNats(last_seq=3)))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    put(mirror, session_key("s-1"), state(revoked=True), 3)  # the logout reaches the watch
    await asyncio.wait_for(waiting, 1)
    with pytest.raises(Problem):
        mirror.check(TOKEN)


async def test_a_mirror_that_does_not_catch_up_hands_every_check_to_profile(
        world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror, _, _ = world
    monkeypatch.setattr(session_mirror, "BARRIER_SECONDS", 0.01)
    await mirror.catch_up(FakeNats(last_seq=99))
    assert not mirror.ready and mirror.check(TOKEN) is None
