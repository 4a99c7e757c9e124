"""The password rule on the pages, from its one owner: profile's ``password_policy`` answers the
rules in order (``[{id, text}]``, each requirement phrased to follow "Mật khẩu cần ..."),
``min_length`` and ``max_length``. The checklist of every new-password form
(``_password_rules.html``) is made from it; the sentence beside a password the service refused
is the owner's too, sent with the refusal (``rendering.FormErrors.of``).

Read once and kept for the gateway's life: the rule changes with a release of profile, and a
gateway restart reads it again. While profile cannot be asked, a page still renders: the
checklist says the requirements could not be shown (profile still checks them all when the
password is sent), and a later page asks again, at most once every ``RETRY_AFTER_SECONDS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from services.gateway.web.owner_rules import READ_TIMEOUT_SECONDS, OwnerRules
from shared.contracts import profile as PROFILE
from shared.contracts.base import Empty
from shared.logging import get_logger
from shared.rpc import RpcClient

log = get_logger(__name__)

# The rules a browser can judge while the person types (static/enhance.js, LIVE_RULES).
LIVE_RULES = frozenset({"min_length", "lowercase", "uppercase", "digit", "special"})
UNAVAILABLE = ("Chưa tải được danh sách yêu cầu của mật khẩu. Mật khẩu vẫn được kiểm tra đầy "
               "đủ khi bạn gửi.")


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    text: str  # "Có ít nhất 8 ký tự": the owner's requirement, as a line of the list
    live: bool  # ticked by the page's script while the person types


@dataclass(frozen=True)
class PasswordRules:
    """What the new-password forms show of the rule: no items when profile could not be
    asked (the form then says so, ``UNAVAILABLE``)."""

    items: tuple[ChecklistItem, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    unavailable: str | None = UNAVAILABLE

    @classmethod
    def of(cls, policy: PROFILE.PasswordPolicyView) -> PasswordRules:
        items = tuple(ChecklistItem(rule.id, rule.text[:1].upper() + rule.text[1:],
                                    rule.id in LIVE_RULES) for rule in policy.rules)
        return cls(items=items, min_length=policy.min_length, max_length=policy.max_length,
                   unavailable=None)


class PasswordRulesCache(OwnerRules[PROFILE.PasswordPolicyView, PasswordRules]):
    """The rule as last read from profile (one per app: ``app.state``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(PasswordRules.of, PasswordRules(), owner="profile", clock=clock)


def rules_cache(request: Request) -> PasswordRulesCache:
    state = request.app.state
    if getattr(state, "password_rules", None) is None:
        state.password_rules = PasswordRulesCache()
    cache: PasswordRulesCache = state.password_rules
    return cache


async def load_password_rules(request: Request) -> None:
    """Dependency of the routers whose pages have a new-password form: the rule is at hand
    (``rendering.render`` puts it in every page's context)."""
    rpc: RpcClient = request.app.state.rpc
    await rules_cache(request).load(
        lambda: rpc.ask(PROFILE.PASSWORD_POLICY, Empty(), timeout=READ_TIMEOUT_SECONDS))
