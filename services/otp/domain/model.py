"""OTP challenges and the rules around them: pure functions and values, no I/O.

A challenge is keyed by ``(purpose, flow_id)``: one live code per flow. A resend replaces the
code of the same challenge (same ``challenge_id``) and keeps its ``failures``, so asking for a
new code never buys more guesses. A code is bound to the number it was sent to: the phone is
part of its keyed hash, and ``verify`` names the phone, so a code sent to one number never
verifies for another (a flow that switched numbers; a resend to another number replaces the
code, failures kept).
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import get_args

from services.otp.domain.errors import (
    ChallengeNotFound,
    OtpAttemptsExceeded,
    OtpError,
    OtpExpired,
    OtpInvalid,
    OtpResendTooSoon,
)
from shared.contracts.otp import OtpPurpose
from shared.crypto import keyed_hash

Purpose = OtpPurpose
PURPOSES: tuple[str, ...] = get_args(Purpose)

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
RESEND_INTERVAL = timedelta(seconds=60)
MAX_FAILURES = 5
SENDS_PER_WINDOW = 5
SEND_WINDOW = timedelta(hours=1)
# A challenge outlives its code so that, within a flow's life, a late entry is told
# "otp_expired" (not "not_found") and the failure counter cannot be reset by waiting for
# the code to lapse. The TTL index deletes it afterwards.
CHALLENGE_RETENTION = timedelta(hours=24)

CODE_SHAPE = re.compile(rf"^\d{{{CODE_DIGITS}}}$")

# docs/messaging.md: ASCII-only Vietnamese keeps the text in one 160-character GSM segment.
# Each text names what the code is for, so a caller asking for "your registration code" is
# caught out when the SMS says "dang nhap"; and each warns never to share it. The code is the
# only 6-digit number in the text.
SMS_TEMPLATE = "Ma OTP {action} Cong DVCQG: {code}, hieu luc 5 phut. {warning}"
SMS_WARNING = "Khong chia se ma nay voi bat ky ai."
SMS_ACTIONS: dict[str, str] = {
    "registration": "dang ky tai khoan",
    "login": "dang nhap",
    "password_reset": "dat lai mat khau",
    "add_method": "them so dien thoai",
    "reauthentication": "xac thuc lai",
    "counter": "dang ky tai buu dien",
}
# At the counter the citizen reads the code to the clerk in front of them, and only to them.
COUNTER_WARNING = "Chi doc cho nhan vien quay; khong chia se ma nay voi bat ky ai khac."


@dataclass(frozen=True)
class Challenge:
    id: str
    purpose: str
    flow_id: str
    phone: str
    # None once the code is unusable (its SMS could not be delivered).
    code_hash: str | None
    sent_at: datetime
    expires_at: datetime
    failures: int = 0
    used_at: datetime | None = None

    @property
    def resend_available_at(self) -> datetime:
        return self.sent_at + RESEND_INTERVAL

    @property
    def locked(self) -> bool:
        return self.failures >= MAX_FAILURES

    @property
    def remaining_attempts(self) -> int:
        return max(0, MAX_FAILURES - self.failures)


def storage_time(moment: datetime) -> datetime:
    """MongoDB keeps milliseconds: rounding here keeps fakes and the database in agreement."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(secret: str, challenge_id: str, phone: str, code: str) -> str:
    # Binding the challenge id into the hash means equal codes never share a stored value;
    # binding the phone means a code only verifies for the number it was sent to (a flow
    # that switched numbers cannot have a code sent to one accepted for the other).
    return keyed_hash(secret, f"{challenge_id}:{phone}:{code}")


def sms_body(code: str, purpose: str) -> str:
    warning = COUNTER_WARNING if purpose == "counter" else SMS_WARNING
    return SMS_TEMPLATE.format(action=SMS_ACTIONS[purpose], code=code, warning=warning)



def seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def ensure_can_send(existing: Challenge | None, now: datetime) -> None:
    """Rules checked before a (re)send; the store enforces them again atomically."""
    if existing is None:
        return
    if existing.locked:
        raise OtpAttemptsExceeded()
    if now < existing.resend_available_at:
        raise OtpResendTooSoon(seconds_until(existing.resend_available_at, now))


def refusal(challenge: Challenge | None, now: datetime) -> OtpError:
    """Why a verification neither succeeded nor counted as a wrong entry."""
    if challenge is None:
        return ChallengeNotFound()
    if challenge.locked:
        return OtpAttemptsExceeded()
    if challenge.used_at is not None or challenge.code_hash is None or challenge.expires_at <= now:
        return OtpExpired()
    # The challenge changed between the two atomic attempts (a resend replaced the code):
    # the entry matched neither the old nor the new code.
    return OtpInvalid(challenge.remaining_attempts)
