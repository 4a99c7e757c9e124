"""Registration at a post office counter (Bưu điện Việt Nam): citizens, level 3.

A clerk (an agent with their own account) checks the citizen's ID card in person and enters
the identity (ID number, full name, birth date, sex), the phone and optionally an e-mail, and
confirms the check (``id_document_checked: true``). The same identity rules as the other
methods apply (a real CCCD structure agreeing with birth date and sex, a real Vietnamese
mobile). The document was seen, which is why this is level 3.

The phone is proven at the counter (FLOWS.md "Whose phone"): a code goes to it and the
citizen reads it back to the clerk, who enters it (``CounterFlow``, two steps). Only then is
the account made, with an issued username and a one-time initial password sent to that phone.
A clerk may start at most ``DAILY_LIMIT`` counter registrations a (Vietnamese) day, so a
dishonest or hijacked agent account cannot mint accounts in bulk.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.registration.domain.errors import FlowExpired, FlowNotFound, FlowState
from services.registration.domain.fields import FieldErrors
from services.registration.domain.identity import Identity, validate_id_number
from services.registration.domain.methods import person_fields as person
from services.registration.domain.model import VIETNAM_TZ
from services.registration.domain.phone import normalize_mobile

METHOD = "post_office"
LEVEL = 3
USERNAME_PREFIX = "BD"  # bưu điện
USERNAME_DIGITS = 10
INITIAL_PASSWORD_LENGTH = 12
# Letters and digits that are never misread on a phone screen (no 0/O, 1/l/I), and symbols
# that are plain GSM-7 characters (one SMS segment, typed easily on any keyboard).
_LOWER = "abcdefghijkmnpqrstuvwxyz"
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "23456789"
_SYMBOLS = "#@%+=!?"
_OFFICE_NAME_MAX = 200
# The otp service's purpose for the code read back at the counter (its SMS says so).
OTP_PURPOSE = "counter"
# Long enough for a resend and a slow reading; the citizen is standing at the counter.
FLOW_LIFETIME = timedelta(minutes=15)
DAILY_LIMIT = 50


@dataclass(frozen=True)
class Agent:
    """Who registered the citizen, from the agent's session (given by the gateway)."""

    account_id: str
    office: dict[str, str]  # {name, code?}

    def as_dict(self) -> dict[str, Any]:
        return {"agent_account_id": self.account_id, "office": dict(self.office)}


@dataclass(frozen=True)
class PostOfficeApplication:
    identity: Identity
    phone: str  # E.164
    email: str | None
    agent: Agent


def parse_application(payload: Mapping[str, Any], today: date) -> PostOfficeApplication:
    """Field problems together (``validation_error``), then ``invalid_id_number`` and
    ``invalid_phone``, as the mobile method does."""
    errors = FieldErrors()
    agent = _agent(errors, payload)
    raw_id = errors.required_text(payload, "id_number", "số CCCD/CMND")
    full_name = person.full_name(errors, payload)
    birth_date = person.birth_date(errors, payload, today)
    sex = person.sex(errors, payload)
    raw_phone = errors.required_text(payload, "phone", "số điện thoại")
    email = person.email(errors, payload)
    if payload.get("id_document_checked") is not True:
        errors.add("id_document_checked",
                   "Nhân viên phải kiểm tra giấy tờ tùy thân (CCCD/CMND) bản gốc của công dân "
                   "và xác nhận trước khi đăng ký.")
    errors.raise_if_any()
    assert raw_id and full_name and birth_date and sex and raw_phone and agent

    id_number = validate_id_number(raw_id, birth_date, sex)
    return PostOfficeApplication(
        identity=Identity(id_number=id_number, full_name=full_name, birth_date=birth_date, sex=sex),
        phone=normalize_mobile(raw_phone),
        email=email,
        agent=agent,
    )


def _agent(errors: FieldErrors, payload: Mapping[str, Any]) -> Agent | None:
    """The gateway's part of the request: a missing agent is a caller's bug, said plainly."""
    account_id = payload.get("agent_account_id")
    office = payload.get("office")
    name = office.get("name") if isinstance(office, Mapping) else None
    if not isinstance(account_id, str) or not account_id:
        errors.add("agent_account_id", "Thiếu tài khoản nhân viên bưu điện.")
        return None
    if not isinstance(name, str) or not 0 < len(name) <= _OFFICE_NAME_MAX:
        errors.add("office", "Thiếu tên bưu điện của nhân viên.")
        return None
    assert isinstance(office, Mapping)
    code = office.get("code")
    return Agent(account_id, {"name": name} | ({"code": code} if isinstance(code, str) else {}))


def new_username(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    return f"{USERNAME_PREFIX}{randbelow(10**USERNAME_DIGITS):0{USERNAME_DIGITS}d}"


def new_initial_password(choice: Callable[[str], str] = secrets.choice,
                         shuffle: Callable[[list[str]], None] | None = None) -> str:
    """12 characters from ``secrets`` (about 70 bits) with every class the password rule
    asks for, so even the one-time password passes it."""
    alphabet = _LOWER + _UPPER + _DIGITS + _SYMBOLS
    chars = [choice(_LOWER), choice(_UPPER), choice(_DIGITS), choice(_SYMBOLS)]
    chars += [choice(alphabet) for _ in range(INITIAL_PASSWORD_LENGTH - len(chars))]
    (shuffle or _secure_shuffle)(chars)
    return "".join(chars)


def _secure_shuffle(items: list[str]) -> None:
    secrets.SystemRandom().shuffle(items)



@dataclass(frozen=True)
class CounterRegistration:
    """The record of a counter registration: who was registered, by which agent, where.
    Holds no password; the username is unique."""

    id: str
    account_id: str
    id_number: str
    username: str
    agent: Agent
    created_at: datetime


@dataclass(frozen=True)
class CounterFlow:
    """A counter registration waiting for the code sent to the citizen's phone. Bound to the
    agent who started it: no other agent can finish it."""

    id: str
    application: PostOfficeApplication
    created_at: datetime
    expires_at: datetime
    status: str = "otp_sent"  # otp_sent → completed

    def ensure_open_for(self, agent_account_id: str, now: datetime) -> None:
        if self.application.agent.account_id != agent_account_id:
            raise FlowNotFound()
        if self.status != "otp_sent":
            raise FlowState()
        if now >= self.expires_at:
            raise FlowExpired()


def agent_day(agent_account_id: str, now: datetime) -> str:
    """The key of an agent's counter day: the daily limit follows the Vietnamese calendar."""
    return f"{agent_account_id}:{now.astimezone(VIETNAM_TZ).date().isoformat()}"


def seconds_until_tomorrow(now: datetime) -> int:
    local = now.astimezone(VIETNAM_TZ)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(),
                                tzinfo=VIETNAM_TZ)
    return max(1, int((tomorrow - local).total_seconds()))
