"""Accounts an operator creates (``dvcid admin``): post-office agents and state agencies.

Pure rules: the requests, the issued usernames and the accounts they make. The initial
password is generated and hashed by the operator's tool; only its argon2id hash arrives
here, and the account must change it at its first login (``must_change_password``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, field_validator

from services.profile.domain.commands import Command
from services.profile.domain.errors import ReauthenticationRequired
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
# An agent's session registers citizens only this long after its login or last step-up.
AGENT_SESSION_WINDOW = timedelta(minutes=15)


class _StaffCommand(Command):
    phone: str = Field(min_length=1, max_length=32)
    password_hash: str = Field(min_length=20, max_length=512)

    @field_validator("password_hash")
    @classmethod
    def _argon2id(cls, value: str) -> str:
        if not _ARGON2ID.match(value):
            raise ValueError("an argon2id hash")
        return value


class CreateAgent(_StaffCommand):
    id_number: str = Field(pattern=_ID_NUMBER.pattern)
    full_name: str = Field(min_length=2, max_length=100)
    office: str = Field(min_length=2, max_length=200)
    office_code: str | None = Field(default=None, min_length=1, max_length=32)


class CreateAgency(_StaffCommand):
    code: str = Field(pattern=_AGENCY_CODE.pattern)
    name: str = Field(min_length=2, max_length=200)
    email: str | None = Field(default=None, min_length=3, max_length=254,
                              pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    user_id_number: str | None = Field(default=None, pattern=_ID_NUMBER.pattern)
    user_full_name: str | None = Field(default=None, min_length=2, max_length=100)

    @field_validator("code")
    @classmethod
    def _not_a_personal_number(cls, value: str) -> str:
        # The code is the agency's username: a bare 9-/12-digit code would be read as
        # someone's CMND/CCCD at the login (domain/identity_keys).
        if typed_in_id_type(value) is not None:
            raise ValueError("an agency code that is not a CMND/CCCD number")
        return value


def new_agent_username(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    return f"{AGENT_USERNAME_PREFIX}{randbelow(10**AGENT_USERNAME_DIGITS):0{AGENT_USERNAME_DIGITS}d}"


def agent_account(command: CreateAgent, *, account_id: str, username: str, now: datetime,
                  new_id: Callable[[], str]) -> Account:
    office: dict[str, Any] = {"type": POST_OFFICE_ORGANISATION, "name": command.office}
    if command.office_code:
        office["code"] = command.office_code
    return _staff_account(
        account_id=account_id, subject_type="citizen", username=username,
        identity=Identity(id_number=command.id_number, full_name=command.full_name),
        phone=vietnamese_mobile(command.phone), password_hash=command.password_hash,
        roles=[AGENT_ROLE], organisation=office, email=None, now=now, new_id=new_id)


def agency_account(command: CreateAgency, *, account_id: str, now: datetime,
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


class AgentRef(Command):
    """An operator's command about an agent: the username printed at its creation (NV…)."""

    username: str = Field(pattern=r"^NV\d{8}$")


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
