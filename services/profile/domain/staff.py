"""Accounts an operator creates (``dvcid admin``): post-office agents and state agencies.

Pure rules: what a request must be (beyond its contract's bounds), the issued usernames and
the accounts they make. The initial
password is generated and hashed by the operator's tool; only its argon2id hash arrives
here, and the account must change it at its first login (``must_change_password``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.profile.domain.errors import ReauthenticationRequired, ValidationFailed
from services.profile.domain.identity_keys import typed_in_id_type
from services.profile.domain.models import (
    AGENCY_SUBJECT,
    AGENT_ROLE,
    PASSWORD_METHOD,
    Account,
    AuthMethod,
    Identity,
    Phone,
    Session,
)
from services.profile.domain.phone import vietnamese_mobile

AGENT_USERNAME_PREFIX = "NV"  # nhân viên (bưu điện)
AGENT_USERNAME_DIGITS = 8
POST_OFFICE_ORGANISATION = "post_office"
AGENCY_ORGANISATION = "agency"
# Operator-made accounts carry no registration flow; this names where they came from.
OPERATOR_REGISTRATION = "operator"
_ID_NUMBER = re.compile(r"^(\d{9}|\d{12})$")
_AGENCY_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,31}$")
_ARGON2ID = re.compile(r"^\$argon2id\$")
_AGENT_USERNAME = re.compile(r"^NV\d{8}$")
# An agent's session registers citizens only this long after its login or last step-up.
AGENT_SESSION_WINDOW = timedelta(minutes=15)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FIELD_DETAIL = "Giá trị không hợp lệ hoặc bị thiếu."
_PERSONAL_CODE_DETAIL = "Mã cơ quan không được là một số CMND/CCCD."


@dataclass(frozen=True)
class NewAgent:
    """An operator's request for a post-office clerk's account, its rules checked."""

    id_number: str
    full_name: str
    phone: str
    office: str
    office_code: str | None
    password_hash: str


@dataclass(frozen=True)
class NewAgency:
    """An operator's request for a state agency's account, its rules checked."""

    code: str
    name: str
    phone: str
    email: str | None
    user_id_number: str | None
    user_full_name: str | None
    password_hash: str


class _Checks:
    """Every field that breaks a rule, named at once (values are never echoed)."""

    def __init__(self) -> None:
        self.fields: list[dict[str, str]] = []

    def require(self, name: str, ok: bool, detail: str = _FIELD_DETAIL) -> None:
        if not ok:
            self.fields.append({"name": name, "detail": detail})

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationFailed(fields=self.fields)


def _clean(value: str | None) -> str | None:
    return value.strip() if value is not None else None


def _sized(value: str | None, low: int, high: int) -> bool:
    return value is not None and low <= len(value) <= high


def _check_staff(checks: _Checks, password_hash: str) -> None:
    # Only an argon2id hash made by the operator's tool: never a password in clear.
    checks.require("password_hash", bool(_ARGON2ID.match(password_hash))
                   and _sized(password_hash, 20, 512))


def new_agent(*, id_number: str, full_name: str, phone: str, office: str,
              office_code: str | None, password_hash: str) -> NewAgent:
    agent = NewAgent(id_number=id_number.strip(), full_name=full_name.strip(),
                     phone=phone.strip(), office=office.strip(),
                     office_code=_clean(office_code), password_hash=password_hash.strip())
    checks = _Checks()
    checks.require("id_number", bool(_ID_NUMBER.match(agent.id_number)))
    checks.require("full_name", _sized(agent.full_name, 2, 100))
    checks.require("office", _sized(agent.office, 2, 200))
    checks.require("office_code", agent.office_code is None or _sized(agent.office_code, 1, 32))
    _check_staff(checks, agent.password_hash)
    checks.raise_if_any()
    return agent


def new_agency(*, code: str, name: str, phone: str, email: str | None,
               user_id_number: str | None, user_full_name: str | None,
               password_hash: str) -> NewAgency:
    agency = NewAgency(code=code.strip(), name=name.strip(), phone=phone.strip(),
                       email=_clean(email) or None, user_id_number=_clean(user_id_number),
                       user_full_name=_clean(user_full_name),
                       password_hash=password_hash.strip())
    checks = _Checks()
    checks.require("code", bool(_AGENCY_CODE.match(agency.code)))
    # The code is the agency's username: a bare 9-/12-digit code would be read as someone's
    # CMND/CCCD at the login (domain/identity_keys).
    checks.require("code", typed_in_id_type(agency.code) is None, _PERSONAL_CODE_DETAIL)
    checks.require("name", _sized(agency.name, 2, 200))
    checks.require("email", agency.email is None
                   or (_sized(agency.email, 3, 254) and bool(_EMAIL.match(agency.email))))
    checks.require("user_id_number", agency.user_id_number is None
                   or bool(_ID_NUMBER.match(agency.user_id_number)))
    checks.require("user_full_name", agency.user_full_name is None
                   or _sized(agency.user_full_name, 2, 100))
    _check_staff(checks, agency.password_hash)
    checks.raise_if_any()
    return agency


def agent_username(username: str) -> str:
    """An operator's command about an agent names it by the username printed at its
    creation (NV…)."""
    name = username.strip()
    if not _AGENT_USERNAME.match(name):
        raise ValidationFailed(fields=[{"name": "username", "detail": _FIELD_DETAIL}])
    return name


def new_agent_username(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    return f"{AGENT_USERNAME_PREFIX}{randbelow(10**AGENT_USERNAME_DIGITS):0{AGENT_USERNAME_DIGITS}d}"


def agent_account(command: NewAgent, *, account_id: str, username: str, now: datetime,
                  new_id: Callable[[], str]) -> Account:
    office: dict[str, Any] = {"type": POST_OFFICE_ORGANISATION, "name": command.office}
    if command.office_code:
        office["code"] = command.office_code
    return _staff_account(
        account_id=account_id, subject_type="citizen", username=username,
        identity=Identity(id_number=command.id_number, full_name=command.full_name),
        phone=vietnamese_mobile(command.phone), password_hash=command.password_hash,
        roles=[AGENT_ROLE], organisation=office, email=None, now=now, new_id=new_id)


def agency_account(command: NewAgency, *, account_id: str, now: datetime,
                   new_id: Callable[[], str]) -> Account:
    """The agency's account; its first user logs in with the agency code as username."""
    organisation: dict[str, Any] = {"type": AGENCY_ORGANISATION, "code": command.code,
                                    "name": command.name}
    if command.email:
        organisation["email"] = command.email
    if command.user_id_number or command.user_full_name:
        organisation["user"] = {k: v for k, v in (("id_number", command.user_id_number),
                                                  ("full_name", command.user_full_name)) if v}
    return _staff_account(
        account_id=account_id, subject_type=AGENCY_SUBJECT, username=command.code,
        identity=Identity(id_number=command.code, full_name=command.name),
        phone=vietnamese_mobile(command.phone), password_hash=command.password_hash,
        roles=[], organisation=organisation, email=command.email, now=now, new_id=new_id)


def _staff_account(*, account_id: str, subject_type: str, username: str, identity: Identity,
                   phone: str, password_hash: str, roles: list[str],
                   organisation: dict[str, Any], email: str | None, now: datetime,
                   new_id: Callable[[], str]) -> Account:
    otp_phone = Phone(new_id(), phone, otp=True, added_at=now)
    return Account(
        account_id=account_id, subject_type=subject_type,
        # Staff accounts prove what password + OTP proves; nothing was checked in person.
        level=2, identity=identity, registration_id=OPERATOR_REGISTRATION, created_at=now,
        phones=[otp_phone],
        auth_methods=[AuthMethod(new_id(), PASSWORD_METHOD, now),
                      AuthMethod(new_id(), "sms", now, phone_id=otp_phone.phone_id)],
        username=username, must_change_password=True, roles=roles,
        organisation=organisation, email=email, password_hash=password_hash,
    )


def ensure_recent_agent_session(session: Session, now: datetime,
                                window: timedelta = AGENT_SESSION_WINDOW) -> None:
    """Counter work needs a session logged in, or stepped up, within ``window``: a token
    left on a counter PC or stolen days ago cannot register anyone."""
    proven_at = max(session.created_at, session.reauthenticated_at or session.created_at)
    if now - proven_at > window:
        raise ReauthenticationRequired(
            "Vì lý do an toàn, đăng ký tại quầy cần phiên đăng nhập trong vòng 15 phút. Vui "
            "lòng xác thực lại (hoặc đăng nhập lại) rồi tiếp tục.")


def agent_office(account: Account) -> dict[str, Any] | None:
    """The post office an agent works at; None for any account that is not an agent."""
    if AGENT_ROLE not in account.roles:
        return None
    return {k: v for k, v in account.organisation.items() if k in ("name", "code")}
