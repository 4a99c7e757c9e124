"""The brake on registration starts: each start asks an outside registry (carrier, insurer)
about a person and may send a code, so a run of starts against one ID number or one phone is a
probe (whose number is this? is this the right name for that CCCD?) and is limited.

Limits are per ID number and per phone, in a window of one hour opened by the first start;
every start counts, whatever its outcome. The otp service limits codes per phone on its own:
the per-phone limit here is higher and only caps registry lookups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.registration.domain.errors import RegistrationRateLimited

START_WINDOW = timedelta(hours=1)
STARTS_PER_ID_NUMBER = 5
STARTS_PER_PHONE = 10


@dataclass(frozen=True)
class Budget:
    """What one start is counted under: a subject (never stored in clear) and its limit."""

    subject: str
    limit: int


@dataclass(frozen=True)
class Count:
    """Starts counted in the current window, this one included, and when the window ends."""

    starts: int
    window_ends: datetime


def start_budgets(id_number: str, phone: str) -> list[Budget]:
    return [Budget(f"registration-start:id:{id_number}", STARTS_PER_ID_NUMBER),
            Budget(f"registration-start:phone:{phone}", STARTS_PER_PHONE)]


def check(budget: Budget, count: Count, now: datetime) -> None:
    """Raises rate_limited, with the seconds until the window ends, past the limit."""
    if count.starts > budget.limit:
        wait = (count.window_ends - now).total_seconds()
        raise RegistrationRateLimited(retry_after=max(1, math.ceil(wait)))
