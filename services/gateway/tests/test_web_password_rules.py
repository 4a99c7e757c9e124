"""The password rule on the pages comes from its owner (profile's ``password_policy``): read
once and kept; while profile cannot be asked the forms say so, and a later page asks again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from services.gateway.web.owner_rules import RETRY_AFTER_SECONDS
from services.gateway.web.password_rules import UNAVAILABLE, PasswordRulesCache
from shared.contracts import profile as PROFILE
from shared.rpc import ServiceUnavailable

T = TypeVar("T")
POLICY = PROFILE.PasswordPolicyView.model_validate({
    "rules": [{"id": "min_length", "text": "có ít nhất 10 ký tự"},
              {"id": "no_phone", "text": "không chứa số điện thoại của bạn"}],
    "min_length": 10, "max_length": 128})


def run(pending: Awaitable[T]) -> T:
    async def wait() -> T:
        return await pending

    return asyncio.run(wait())


class Profile:
    """A stand-in for profile's ``password_policy``: down until ``up``."""

    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.reads = 0

    async def read(self) -> PROFILE.PasswordPolicyView:
        self.reads += 1
        if not self.up:
            raise ServiceUnavailable("profile")
        return POLICY


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_checklist_is_the_owners_rules_in_order_read_once() -> None:
    profile, cache = Profile(), PasswordRulesCache()
    rules = run(cache.load(profile.read))
    assert [(item.id, item.text, item.live) for item in rules.items] == [
        ("min_length", "Có ít nhất 10 ký tự", True),
        ("no_phone", "Không chứa số điện thoại của bạn", False)]
    assert (rules.min_length, rules.max_length, rules.unavailable) == (10, 128, None)
    run(cache.load(profile.read))
    assert profile.reads == 1 and cache.current == rules


def test_while_profile_is_down_the_form_says_so_and_asks_again_later() -> None:
    profile, clock = Profile(up=False), Clock()
    cache = PasswordRulesCache(clock)
    rules = run(cache.load(profile.read))
    assert rules.items == () and rules.unavailable == UNAVAILABLE
    profile.up = True
    run(cache.load(profile.read))  # not at once: pages do not wait on a down service
    assert profile.reads == 1
    clock.now += RETRY_AFTER_SECONDS
    assert run(cache.load(profile.read)).items and profile.reads == 2
