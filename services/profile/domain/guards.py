"""The guards of the password login (FLOWS.md "Rules the guide leaves open"): pure rules.

- Failed passwords are counted per account (one account has several names: its CCCD and a
  ``BD…`` username, which share one budget; guesses of the current password on the account
  pages count too), per login name when no account has it (the same rules, so the guard
  itself never tells whether one exists), and per client IP, in a window of 15 minutes that
  starts at the first failure.
- From the 6th failure of an account (or name) in a window a captcha must be answered; an
  attempt that reaches the 10th failure locks it for 15 minutes.
- Per-address limits are about volume (carrier-grade NAT and a post office put many people
  behind one IP): only past ``ip_captcha_after`` failures from an IP does it ask a captcha,
  and then only of a name or account that already failed in the window, so a person's own
  first try is never captcha'd because of strangers. Every attempt from an IP is counted
  (with or without a failure); past ``ip_attempts`` the IP is throttled (``rate_limited``),
  as are the OTP SMS a client's IP causes.

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
# The audio captcha reads digits: the only voices the captcha library ships.
AUDIO_CAPTCHA_DIGITS = 6


@dataclass(frozen=True)
class GuardPolicy:
    window: timedelta = timedelta(minutes=15)
    captcha_after: int = 5  # failures of a login name or an account before a captcha is asked
    lock_after: int = 10  # failures of a login name or an account that lock it
    lock_for: timedelta = timedelta(minutes=15)
    ip_captcha_after: int = 100  # failures from one IP per window before its volume counts
    ip_attempts: int = 300  # password logins from one IP per window (NAT: many people)
    ip_otp_sends: int = 300  # login/reset OTP SMS from one IP per window (volume: NAT, post offices)
    captcha_ttl: timedelta = timedelta(minutes=5)
    # "Quên mật khẩu" SMS per account, per phone and per login name in an hour: below the otp
    # service's 5 per phone per hour, so a stranger who knows a username cannot use up the
    # owner's SMS budget (their own logins keep at least 3 codes an hour).
    reset_sends: int = 2
    reset_window: timedelta = timedelta(hours=1)

    def needs_captcha(self, own_count: int, ip_count: int) -> bool:
        """``own_count``: the failures of the account (or of the name that has none); both
        counts include the attempt being made."""
        if own_count > self.captcha_after:
            return True
        # A busy address alone never captchas a first try: strangers' failures are not this
        # person's (FLOWS.md: per-address limits only cap volume).
        return ip_count > self.ip_captcha_after and own_count > 1

    def locks(self, own_count: int) -> bool:
        return own_count >= self.lock_after


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
