"""The guards of the password login (FLOWS.md "Rules the guide leaves open"): pure rules.

- Failed passwords are counted per login name (whether or not such an account exists, so the
  guard itself never tells) and per client IP, in a window of 15 minutes that starts at the
  first failure.
- From the 6th attempt in a window a captcha must be answered; an attempt that reaches the
  10th failure of a login name locks it for 15 minutes.
- Every attempt from an IP is counted too (with or without a password failure); past the
  limit the IP is throttled (``rate_limited``), as are the OTP SMS a client's IP causes.

Attempts are counted BEFORE the password is checked (a reservation), and given back when
the password turns out right or the attempt is refused for a missing captcha: fifty parallel
guesses each get a distinct count from the store's atomic increment, so at most
``captcha_after`` of them reach the password check without a captcha, and no more than
``lock_after`` in all before the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil

# Letters and digits a person cannot confuse in a distorted image (no 0/O, 1/I/L, 5/S...).
CAPTCHA_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CAPTCHA_LENGTH = 5


@dataclass(frozen=True)
class GuardPolicy:
    window: timedelta = timedelta(minutes=15)
    captcha_after: int = 5  # failures of a login name or an IP before a captcha is asked
    lock_after: int = 10  # failures of a login name that lock it
    lock_for: timedelta = timedelta(minutes=15)
    ip_attempts: int = 100  # password logins from one IP per window (NAT: many people)
    ip_otp_sends: int = 30  # login/reset OTP SMS caused from one IP per window
    captcha_ttl: timedelta = timedelta(minutes=5)

    def needs_captcha(self, name_count: int, ip_count: int) -> bool:
        """``*_count`` include the attempt being made."""
        return name_count > self.captcha_after or ip_count > self.captcha_after

    def locks(self, name_count: int) -> bool:
        return name_count >= self.lock_after


@dataclass(frozen=True)
class Count:
    """A counter after an atomic increment: the value and when its window ends."""

    value: int
    window_ends: datetime

    def retry_after(self, now: datetime) -> int:
        return seconds_until(self.window_ends, now)


def seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, ceil((moment - now).total_seconds()))


def normalise_answer(answer: str) -> str:
    """Captcha answers are compared case-insensitively and without spaces."""
    return "".join(answer.split()).upper()
