"""What every registration method shares: the flow's lifetime, the calendar, the records of
the registries asked at the start and the duplicate-check projection. The flow itself, its
states and rules are ``domain/flow.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

from services.registration.domain.identity import Sex
from shared.events.schemas import SubjectType

FLOW_LIFETIME = timedelta(minutes=30)
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
