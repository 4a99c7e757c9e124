"""SIM signing prompts: what the phone shows, and how often one phone may be asked.

Push fatigue: whoever knows a phone number can make its SIM ask for the PIN again and again
until the tired owner approves one (and the asker's page then holds the owner's session).
So, per phone, for registration, login and adding a method alike: one prompt waits on the
phone at a time, and at most ``per_window`` prompts in ``window`` and ``per_hour`` in an
hour. Past that the caller is told when to try again (``rate_limited`` + Retry-After) and the
SIM shows nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# ASCII keeps the provider's display text in the SIM's GSM alphabet (short, no diacritics).
_ACTIONS: dict[str, str] = {
    "registration": "dang ky tai khoan",
    "login": "dang nhap",
    "password_reset": "dat lai mat khau",
    "add_method": "them phuong thuc dang nhap",
    "reauthentication": "xac thuc lai",
}


def display_text(purpose: str, code: str) -> str:
    """What the SIM shows: what the signature is for and the 4-digit code the page shows, so
    the owner approves only the request they made themselves."""
    action = _ACTIONS.get(purpose, "xac thuc tai khoan")
    return f"Cong DVCQG: {action}, ma {code}. Tu choi neu ban khong yeu cau."


@dataclass(frozen=True)
class PromptLimits:
    per_window: int = 5
    window: timedelta = timedelta(minutes=15)
    per_hour: int = 10
    hour: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class PromptHistory:
    """One phone's recent prompts: the last ``per_window`` and ``per_hour`` send times (oldest
    first) and until when the current prompt waits on the phone (None: none waits)."""

    recent: Sequence[datetime] = ()
    hourly: Sequence[datetime] = ()
    pending_until: datetime | None = None


def free_at(history: PromptHistory, now: datetime, limits: PromptLimits) -> datetime | None:
    """None when a prompt may go now, else the moment the phone may be asked again."""
    waits = []
    if history.pending_until is not None and history.pending_until > now:
        waits.append(history.pending_until)
    for sent, count, window in ((history.recent, limits.per_window, limits.window),
                                (history.hourly, limits.per_hour, limits.hour)):
        kept = sorted(sent)[-count:]
        if len(kept) >= count and kept[0] + window > now:
            waits.append(kept[0] + window)
    return max(waits) if waits else None


SIM_PROMPT_LIMITS = PromptLimits()
