"""otp's timing on the OTP screens, from its one owner (otp's ``policy``): how many digits a
code has, how long it lives, the wait before a new one, and how many wrong codes end the flow.
Read once per gateway (``owner_rules.OwnerRules``).

While otp cannot be asked the screens still work with what needs no rule: a code must be
digits (otp judges its length), no countdown of the code's life is shown, and the flow ends on
otp's own ``otp_attempts_exceeded`` rather than on the browser's count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request

from services.gateway.web.owner_rules import READ_TIMEOUT_SECONDS, OwnerRules
from shared.contracts import otp as OTP
from shared.contracts.base import Empty
from shared.rpc import RpcClient


@dataclass(frozen=True)
class OtpTiming:
    code_digits: int | None = None
    code_lifetime: timedelta | None = None
    resend_interval: timedelta | None = None
    max_attempts: int | None = None

    @classmethod
    def of(cls, policy: OTP.OtpPolicy) -> OtpTiming:
        return cls(code_digits=policy.code_digits,
                   code_lifetime=timedelta(seconds=policy.code_lifetime_seconds),
                   resend_interval=timedelta(seconds=policy.resend_interval_seconds),
                   max_attempts=policy.max_attempts)


class OtpTimingCache(OwnerRules[OTP.OtpPolicy, OtpTiming]):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(OtpTiming.of, OtpTiming(), owner="otp", clock=clock)


def timing_cache(request: Request) -> OtpTimingCache:
    state = request.app.state
    if getattr(state, "otp_timing", None) is None:
        state.otp_timing = OtpTimingCache()
    cache: OtpTimingCache = state.otp_timing
    return cache


def otp_timing(request: Request) -> OtpTiming:
    """otp's timing as last read (``OtpTiming()`` while unknown)."""
    return timing_cache(request).current


async def load_otp_timing(request: Request) -> None:
    """Dependency of the web routers: otp's timing is at hand for their OTP screens."""
    rpc: RpcClient = request.app.state.rpc
    await timing_cache(request).load(
        lambda: rpc.ask(OTP.POLICY, Empty(), timeout=READ_TIMEOUT_SECONDS))
