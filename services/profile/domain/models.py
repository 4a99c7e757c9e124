"""Accounts, login flows, sessions and login history: the state profile owns, and its rules."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from services.profile.domain.errors import FlowExpired, FlowState, NoOtpPhone
from services.profile.domain.identity_keys import id_type_of, identity_key, logs_in_by_number

# FLOWS.md: a session records the level of the method used to log in; password + SMS OTP
# proves level 2 whatever level the account itself has reached.
PASSWORD_OTP_LEVEL = 2
PASSWORD_METHOD = "password"
# Methods whose AccountCreated carries a certificate: they become a signature method.
SIGNATURE_METHODS = frozenset({"sim", "usb"})
# A registration with VNeID: its account's method ``vneid`` (domain/vneid.py, VNEID_METHOD).
VNEID_REGISTRATION = "vneid"
# Staff accounts created by an operator (``dvcid admin``): post-office clerks and agencies.
AGENT_ROLE = "agent"
AGENCY_SUBJECT = "agency"

FlowStatus = Literal["password_change_required", "otp_sent", "completed"]
LoginResult = Literal["success", "failure"]


@dataclass(frozen=True)
class Identity:
    id_number: str
    full_name: str
    birth_date: str | None = None
    sex: str | None = None
    # Enterprises (registered with a digital signature): the MST, also their id_number.
    tax_code: str | None = None
    # The document the number is of (CMND, CCCD, HC, MST); None in accounts older than the
    # field (domain/identity_keys derives it from the number and the subject type).
    id_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"id_number": self.id_number, "full_name": self.full_name,
                "birth_date": self.birth_date, "sex": self.sex}
        if self.tax_code:
            data["tax_code"] = self.tax_code
        if self.id_type:
            data["id_type"] = self.id_type
        return data


@dataclass(frozen=True)
class Phone:
    phone_id: str
    phone: str  # E.164
    otp: bool
    added_at: datetime


@dataclass(frozen=True)
class AuthMethod:
    method_id: str
    type: str  # password / sms / sim / usb
    created_at: datetime
    phone_id: str | None = None
    # Certificate facts of a signature method (fingerprint, serial, issuer), when known.
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Account:
    account_id: str
    subject_type: str
    level: int
    identity: Identity
    registration_id: str
    created_at: datetime
    phones: list[Phone] = field(default_factory=list)
    auth_methods: list[AuthMethod] = field(default_factory=list)
    # Citizens log in with their ID number; post-office accounts get an issued username.
    username: str | None = None
    # Post-office accounts: the initial password is one-time, changed at the first login.
    must_change_password: bool = False
    # Who may use the agent API (post office clerks) and which office / agency they belong to.
    roles: list[str] = field(default_factory=list)
    organisation: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    address: str | None = None
    password_hash: str | None = None
    # An operator disabled the account (``dvcid admin disable-agent``): no login, no agent API.
    disabled_at: datetime | None = None

    @property
    def id_number(self) -> str:
        return self.identity.id_number

    @property
    def identity_key(self) -> str:
        """Who the account is for, the document's type included (``CMND:…``, ``HC:…``)."""
        return identity_key(id_type_of(self.subject_type, self.identity.id_type,
                                       self.id_number), self.id_number)

    @property
    def index_key(self) -> str:
        """What the unique ``id_number`` index holds: the typed identity key. A post-office
        agent's staff account and an agency's account are kept apart from the one person /
        code they name, so the agent's own citizen account (created later by any
        registration) never collides."""
        if AGENT_ROLE in self.roles:
            return f"agent:{self.identity_key}"
        if self.subject_type == AGENCY_SUBJECT:
            return f"agency:{self.id_number}"
        return self.identity_key

    def otp_phones(self) -> list[Phone]:
        return [p for p in self.phones if p.otp]

    def login_phone(self) -> Phone:
        """The phone the login OTP goes to first: the oldest OTP phone."""
        phones = self.otp_phones()
        if not phones:
            raise NoOtpPhone()
        return phones[0]

    def other_otp_phones(self, chosen: Phone) -> list[Phone]:
        return [p for p in self.otp_phones() if p.phone_id != chosen.phone_id]


def open_account(*, account_id: str, registration_id: str, subject_type: str, method: str,
                 level: int, identity: Identity, phone: str | None, email: str | None,
                 password_hash: str | None, created_at: datetime,
                 certificate: dict[str, Any], new_id: Callable[[], str],
                 vneid_sub: str | None = None) -> Account:
    """The account a completed registration creates, with the ways it proved to log in."""
    # A CMND/CCCD holder's number is also their username; a passport number is never one
    # (it may have the digits of someone's CMND).
    by_number = subject_type == "citizen" and logs_in_by_number(
        id_type_of(subject_type, identity.id_type, identity.id_number))
    account = Account(
        account_id=account_id, subject_type=subject_type, level=level, identity=identity,
        registration_id=registration_id, created_at=created_at,
        username=identity.id_number if by_number else None,
        email=email, password_hash=password_hash,
    )
    if password_hash:
        account.auth_methods.append(AuthMethod(new_id(), PASSWORD_METHOD, created_at))
    if phone:
        added = Phone(new_id(), phone, otp=True, added_at=created_at)
        account.phones.append(added)
        account.auth_methods.append(AuthMethod(new_id(), "sms", created_at,
                                               phone_id=added.phone_id))
    if method in SIGNATURE_METHODS:
        account.auth_methods.append(AuthMethod(new_id(), method, created_at,
                                               details=dict(certificate)))
    if method == VNEID_REGISTRATION and vneid_sub:
        # Registered with VNeID (issue 15): VNeID is its way in (domain/vneid.py).
        account.auth_methods.append(AuthMethod(new_id(), VNEID_REGISTRATION, created_at,
                                               details={"vneid_sub": vneid_sub}))
    return account


@dataclass
class LoginFlow:
    flow_id: str
    account_id: str
    method: str
    status: FlowStatus
    flow_token_hash: str
    phone: str
    phone_id: str
    created_at: datetime
    expires_at: datetime
    ip: str | None = None
    user_agent: str | None = None
    session_id: str | None = None
    completed_at: datetime | None = None
    # "Mất số điện thoại nhận OTP": the new phone the code went to, checked against the telco
    # registry at /otp before it replaces the account's OTP phone.
    new_phone: str | None = None
    # The otp service keeps one challenge per (purpose, flow id): each phone the flow sends to
    # has its own, so switching phones is not a "resend too soon" (None: the flow id).
    otp_ref: str | None = None
    # First login of a post-office account: the hash of the chosen password, kept here until
    # the OTP is verified; only then does it become the account's password.
    pending_password_hash: str | None = None

    def otp_key(self) -> str:
        return self.otp_ref or self.flow_id

    def otp_phone(self) -> str:
        """Where the flow's code went: the new phone while a lost phone is being replaced."""
        return self.new_phone or self.phone

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def ensure_readable(self, now: datetime) -> None:
        if self.status != "completed" and self.is_expired(now):
            raise FlowExpired()

    def ensure_awaiting_otp(self, now: datetime) -> None:
        """A code may be entered or resent only while the flow waits for it."""
        if self.status != "otp_sent":
            raise FlowState()
        if self.is_expired(now):
            raise FlowExpired()


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta

    def idle_expiry(self, now: datetime) -> datetime:
        return now + self.idle


@dataclass
class Session:
    session_id: str
    token_hash: str
    account_id: str
    level: int
    method: str
    login_id: str
    created_at: datetime
    last_seen_at: datetime
    idle_expires_at: datetime
    absolute_expires_at: datetime
    ip: str | None = None
    user_agent: str | None = None
    revoked_at: datetime | None = None
    # The last step-up of this session (domain/step_up.py): when and at which level.
    reauthenticated_at: datetime | None = None
    reauthenticated_level: int | None = None

    @property
    def expires_at(self) -> datetime:
        """When the session ends if unused: the earlier of the idle and absolute limits."""
        return min(self.idle_expires_at, self.absolute_expires_at)

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


def open_session(*, session_id: str, token_hash: str, flow: LoginFlow, level: int,
                 policy: SessionPolicy, now: datetime, ip: str | None,
                 user_agent: str | None) -> Session:
    return Session(
        session_id=session_id, token_hash=token_hash, account_id=flow.account_id,
        level=level, method=flow.method, login_id=flow.flow_id, created_at=now,
        last_seen_at=now, idle_expires_at=policy.idle_expiry(now),
        absolute_expires_at=now + policy.absolute, ip=ip, user_agent=user_agent,
    )


@dataclass(frozen=True)
class LoginRecord:
    """One line of the access history (Quản lý đăng nhập): never holds a password or code."""

    record_id: str
    account_id: str | None
    login_id: str
    at: datetime
    method: str
    result: LoginResult
    reason: str | None = None
    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Subscriber:
    """A record of the telco subscriber registry (who a phone number is registered to)."""

    phone: str
    id_number: str
    full_name: str
    birth_date: str | None
    status: str


ACTIVE_SUBSCRIBER_STATUS = "active"


def name_key(raw: str) -> str:
    """Names from two sources compare with case and spacing ignored, diacritics never."""
    return unicodedata.normalize("NFC", " ".join(raw.split()).casefold())


def subscriber_is_owner(subscriber: Subscriber | None, identity: Identity) -> bool:
    """The phone is registered, active, to this very person (chính chủ)."""
    return (
        subscriber is not None
        and subscriber.status.casefold() == ACTIVE_SUBSCRIBER_STATUS
        and subscriber.id_number == identity.id_number
        and (identity.birth_date is None or subscriber.birth_date == identity.birth_date)
        and name_key(subscriber.full_name) == name_key(identity.full_name)
    )


ResetStatus = Literal["otp_sent", "awaiting_password", "completed"]


@dataclass
class PasswordReset:
    """"Quên mật khẩu": OTP to the account's phone, then a new password.

    A reset for a name with no account (or an account without an OTP phone) is a decoy:
    ``account_id`` and ``phone`` are None, no SMS was sent, and every code is wrong. The
    requester cannot tell it from a real one (no enumeration of accounts)."""

    reset_id: str
    account_id: str | None
    status: ResetStatus
    flow_token_hash: str
    phone: str | None
    created_at: datetime
    expires_at: datetime
    ip: str | None = None

    @property
    def is_decoy(self) -> bool:
        return self.account_id is None or self.phone is None

    def ensure(self, status: ResetStatus, now: datetime) -> None:
        if self.status != status:
            raise FlowState()
        if now >= self.expires_at:
            raise FlowExpired()
