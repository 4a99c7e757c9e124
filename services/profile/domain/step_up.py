"""Step-up ("Xác thực lại"): a fresh proof of a factor the account already has, recorded on
the session, before a sensitive change (FLOWS.md "Sensitive changes").

- Sensitive: adding or removing an SMS phone, a USB token or a SIM signature, changing the
  password or the e-mail, ending another session. Each needs a step-up made within
  ``STEP_UP_VALIDITY`` (5 minutes) by THIS session: ``reauthentication_required`` otherwise.
- At least as strong as what changes: a USB/SIM method is level 3, the rest level 2. A step-up
  with password + OTP is level 2, with a signature of a certificate bound to the account level
  3. An account with no level-3 factor yet can only give level 2, which is then the most that
  is asked (its first token is still checked to name the owner); ``insufficient_assurance``
  when the step-up is weaker than that.
- A login does not count as a step-up, however recent (login.gov lets a recent login count):
  a session token stolen minutes after the login would otherwise change everything; a step-up
  is a deliberate act bound to the session that made it.
- Device and time of a change go into the notice sent to the account's existing phones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from services.profile.domain.errors import (
    FlowExpired,
    FlowState,
    InsufficientAssurance,
    ReauthenticationRequired,
)
from services.profile.domain.models import PASSWORD_OTP_LEVEL, Account, Session
from shared.phones import mask_phone

STEP_UP_VALIDITY = timedelta(minutes=5)
# The OTP of a step-up says "xac thuc lai"; its signature challenge is a login's (pki knows
# no other purpose for it), kept apart from any login's by the flow id, new per step-up.
STEP_UP_OTP_PURPOSE = "reauthentication"
STEP_UP_PKI_PURPOSE = "login"
SIGNATURE_LEVEL = 3
LEVEL_3_TYPES = frozenset({"usb", "sim"})
StepUpMethod = Literal["password", "usb", "sim"]
StepUpStatus = Literal["otp_sent", "awaiting_signature", "completed", "failed"]


# --- the flow -------------------------------------------------------------------------------

@dataclass
class StepUp:
    """One re-authentication of one session: only that session may finish it."""

    flow_id: str
    account_id: str
    session_id: str
    method: str
    status: StepUpStatus
    created_at: datetime
    expires_at: datetime
    phone: str | None = None  # E.164: where the OTP went, or the SIM's number
    code: str | None = None

    def ensure(self, status: StepUpStatus, now: datetime) -> None:
        if self.status != status:
            raise FlowState()
        if now >= self.expires_at:
            raise FlowExpired()

    def level(self) -> int:
        return SIGNATURE_LEVEL if self.method in LEVEL_3_TYPES else PASSWORD_OTP_LEVEL

    def view(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.flow_id, "method": self.method,
                                "status": self.status,
                                "expires_at": self.expires_at.astimezone(UTC).isoformat()}
        if self.phone:
            data["phone_masked"] = mask_phone(self.phone)
        if self.code:
            data["code"] = self.code
        return data


# --- rules ----------------------------------------------------------------------------------

def method_level(method_type: str) -> int:
    return SIGNATURE_LEVEL if method_type in LEVEL_3_TYPES else PASSWORD_OTP_LEVEL


def strongest_factor(account: Account) -> int:
    """The highest level a step-up of this account can reach with what it has."""
    if any(m.type in LEVEL_3_TYPES for m in account.auth_methods):
        return SIGNATURE_LEVEL
    return PASSWORD_OTP_LEVEL


def required_level(account: Account, changed_level: int = PASSWORD_OTP_LEVEL) -> int:
    return min(changed_level, strongest_factor(account))


def ensure_stepped_up(session: Session, now: datetime, needed: int,
                      validity: timedelta = STEP_UP_VALIDITY) -> None:
    """This session proved a factor again within ``validity``, at level ``needed`` or more."""
    at = session.reauthenticated_at
    if at is None or now - at > validity or now < at:
        raise ReauthenticationRequired()
    if (session.reauthenticated_level or 0) < needed:
        raise InsufficientAssurance()


def step_up_view(session: Session, validity: timedelta = STEP_UP_VALIDITY) -> dict[str, Any]:
    assert session.reauthenticated_at is not None
    return {"status": "completed", "level": session.reauthenticated_level,
            "reauthenticated_at": session.reauthenticated_at.astimezone(UTC).isoformat(),
            "valid_until": (session.reauthenticated_at + validity).astimezone(UTC).isoformat()}


# --- what the notice of a change says -------------------------------------------------------

VIETNAM = timezone(timedelta(hours=7))


def notice_time(moment: datetime) -> str:
    """Hà Nội time, as a person reads it: ``14:05 01/12/2026``."""
    return moment.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")
