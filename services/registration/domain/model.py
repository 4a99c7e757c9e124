"""The registration flow: its states, its document, and the rules on moving between states.

    otp_sent ──(OTP verified)──▶ awaiting_password ──(password set)──▶ completed
        └──────────────┴──(account_exists at completion)──▶ failed (with code)
        └──────────────┴──(30 minutes without completion)──▶ failed (code flow_expired)

A flow lives 30 minutes from its start; an expired flow answers ``flow_expired``. The expiry
sweeper (``services/registration/expiry.py``) moves it to ``failed`` and announces
RegistrationFailed; until it has, the expiry time alone already refuses every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, Final

from services.registration.domain.errors import FlowExpired, FlowState
from services.registration.domain.identity import Identity, Sex
from shared.events.schemas import SubjectType
from shared.phones import mask_phone

FLOW_LIFETIME = timedelta(minutes=30)
# Mirrors the otp service's rule (60 s between sends) so the page can show the countdown.
RESEND_DELAY = timedelta(seconds=60)
# The level of assurance a mobile-subscriber registration proves (FLOWS.md).
MOBILE_LEVEL = 2
# Registration by BHXH code proves the same level (FLOWS.md).
BHXH_LEVEL = 2
OTP_PURPOSE: Final = "registration"

# Birth dates and "today" are Vietnamese calendar days (UTC+7, no daylight saving).
VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")


def vietnam_today(now: datetime) -> date:
    return now.astimezone(VIETNAM_TZ).date()


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Status(StrEnum):
    OTP_SENT = "otp_sent"
    AWAITING_PASSWORD = "awaiting_password"
    COMPLETED = "completed"
    FAILED = "failed"


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED})
UNFINISHED = frozenset(Status) - TERMINAL
# The code of a flow failed for lapsing (FlowExpired.code, named here for the pure model).
FLOW_EXPIRED_CODE = "flow_expired"

_NEXT_STEP_HINT: dict[Status, str] = {
    Status.OTP_SENT: "Vui lòng nhập mã OTP đã gửi đến số điện thoại trước.",
    Status.AWAITING_PASSWORD: "Mã OTP đã được xác nhận; vui lòng đặt mật khẩu.",
    Status.COMPLETED: "Đăng ký đã hoàn tất; vui lòng đăng nhập bằng số CCCD/CMND và mật khẩu.",
    Status.FAILED: "Phiên đăng ký này đã dừng; vui lòng đăng ký lại từ đầu.",
}


@dataclass
class Registration:
    id: str
    status: Status
    method: str
    subject_type: SubjectType
    identity: Identity
    phone: str
    email: str | None
    flow_token_hash: str
    created_at: datetime
    expires_at: datetime
    account_id: str | None = None
    level: int | None = None
    code: str | None = None
    completed_at: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def answers_expired(self, now: datetime) -> bool:
        """Lapsed unfinished: past its expiry time, or already failed by the sweeper for it."""
        if self.status == Status.FAILED:
            return self.code == FLOW_EXPIRED_CODE
        return self.status not in TERMINAL and self.is_expired(now)

    def require(self, expected: Status, now: datetime) -> None:
        """Raises the error a caller gets when the flow is not at ``expected`` any more."""
        if self.status == expected and not self.is_expired(now):
            return
        if self.answers_expired(now):
            raise FlowExpired()
        raise FlowState(_NEXT_STEP_HINT[self.status])

    def otp_step_done(self, now: datetime) -> bool:
        """The OTP step is behind the flow (and the flow not lapsed): a retried ``/otp``,
        whose first answer was lost, is told where the flow is (issue 12)."""
        return self.status in (Status.AWAITING_PASSWORD, Status.COMPLETED) and not (
            self.answers_expired(now))

    def completion(self) -> dict[str, Any]:
        """The password step's answer, the same to a retry as to the first call."""
        return {"status": str(self.status), "account_id": self.account_id, "level": self.level}

    def view(self) -> dict[str, Any]:
        """What the flow's owner (holder of the flow token) may read back."""
        data: dict[str, Any] = {
            "id": self.id,
            "status": str(self.status),
            "method": self.method,
            "subject_type": self.subject_type,
            "identity": self.identity.as_dict(),
            "phone_masked": mask_phone(self.phone),
            "expires_at": rfc3339(self.expires_at),
        }
        if self.account_id:
            data["account_id"] = self.account_id
            data["level"] = self.level
        if self.code:
            data["code"] = self.code
        return data


@dataclass(frozen=True)
class Subscriber:
    """A record of the telco subscriber registry (who a phone number is registered to)."""

    phone: str
    id_number: str
    full_name: str
    birth_date: date | None
    status: str


@dataclass(frozen=True)
class InsuredPerson:
    """A record of the BHXH (social insurance) registry: who a BHXH code belongs to."""

    bhxh_code: str
    id_number: str
    full_name: str
    birth_date: date
    sex: Sex
    phone: str | None = None  # as the registry holds it; a phone of the person (FLOWS.md)


@dataclass(frozen=True)
class IdentityRecord:
    """A row of the duplicate-check projection: this identity already has an account.
    ``key`` is the typed identity key (``CCCD:…``, ``HC:…``, ``MST:…``; domain/identity_keys)."""

    key: str
    account_id: str
    subject_type: SubjectType
    created_at: datetime
    registration_id: str | None = None
