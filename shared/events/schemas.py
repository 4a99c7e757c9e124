"""Payload schemas, version 1. Phones are E.164; dates ISO 8601."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

SubjectType = Literal["citizen", "enterprise", "agency"]
Purpose = Literal["registration", "login", "password_reset", "add_method", "reauthentication",
                  "counter"]


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="allow")
    schema_version: ClassVar[int] = 1


class Identity(BaseModel):
    model_config = ConfigDict(extra="allow")
    # The document the number is of: CMND, CCCD, HC (passport) or MST (enterprise). The same
    # digits of two types are two people; absent in events older than the field (then a
    # 9-/12-digit number is a CMND/CCCD, a tax code an enterprise's).
    id_type: str | None = None
    id_number: str
    full_name: str
    birth_date: str | None = None
    sex: Literal["male", "female"] | None = None


class RegistrationRequested(EventPayload):
    """A registration passed its checks and now waits for the OTP sent to ``phone``."""

    registration_id: str
    method: str
    subject_type: SubjectType
    phone: str
    purpose: Purpose = "registration"


class OtpSent(EventPayload):
    flow_id: str
    purpose: Purpose
    challenge_id: str
    expires_at: str
    # No consumer needs the number (PERSONAL_FIELDS): not published since issue 11; optional
    # so that events from before still parse.
    phone: str | None = None


class OtpVerified(EventPayload):
    flow_id: str
    purpose: Purpose
    phone: str
    challenge_id: str


class OtpFailed(EventPayload):
    flow_id: str
    purpose: Purpose
    reason: str
    # As OtpSent.phone: no consumer needs it, not published since issue 11.
    phone: str | None = None


class CertificateValidated(EventPayload):
    flow_id: str
    purpose: Purpose
    subject_type: SubjectType
    identity: dict[str, str]
    fingerprint_sha256: str
    serial: str
    issuer: str
    level: int = 3
    # RFC 3339 end of the certificate's validity (additive: absent in older events).
    not_after: str | None = None


class CertificateRejected(EventPayload):
    flow_id: str
    purpose: Purpose
    reason: str


class AccountCreated(EventPayload):
    account_id: str
    registration_id: str
    subject_type: SubjectType
    method: str
    level: int
    identity: Identity
    phone: str | None = None
    email: str | None = None
    # The password profile keeps for this registration (profile ``stage_credential``): a
    # reference, never the password or its hash (issue 11). Absent for signature methods.
    credential_id: str | None = None
    created_at: str
    # Signature methods (usb, sim): the certificate the account is bound to
    # {fingerprint_sha256, serial, issuer, not_after} (additive: absent for other methods).
    certificate: dict[str, str] | None = None


class RegistrationCompleted(EventPayload):
    registration_id: str
    account_id: str
    method: str
    level: int


class AccountActivated(EventPayload):
    """profile committed the account of AccountCreated: it can be used from now on (the
    registration saga completes on it, issue 12 read-your-writes)."""

    account_id: str
    registration_id: str


class RegistrationFailed(EventPayload):
    registration_id: str
    method: str
    code: str


class LoginSucceeded(EventPayload):
    account_id: str
    login_id: str
    method: str
    level: int
    ip: str | None = None
    user_agent: str | None = None


class LoginFailed(EventPayload):
    login_id: str
    method: str
    reason: str
    account_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None


class SessionRevoked(EventPayload):
    account_id: str
    session_id: str
    reason: str


class PasswordChanged(EventPayload):
    """The password of an account was set anew (reason: reset, first_login, change)."""

    account_id: str
    reason: str


class OtpPhoneReplaced(EventPayload):
    """A lost OTP phone was replaced by a new one, proven by OTP and the telco registry."""

    account_id: str
    phone_id: str
    phone: str


class ProfileUpdated(EventPayload):
    """The owner changed contact fields of the account (names only: values stay in profile)."""

    account_id: str
    fields: list[str]


class AuthMethodAdded(EventPayload):
    """A way to log in was added by the account's owner (type: sms, usb, sim)."""

    account_id: str
    method_id: str
    type: str


class AuthMethodRemoved(EventPayload):
    account_id: str
    method_id: str
    type: str


class SecurityNoticeRequested(EventPayload):
    """A sensitive change was made: tell the phones the account had BEFORE it (ids only, the
    numbers stay in profile) and its e-mail when it had one (``email``; the address stays in
    profile). ``change``: sms_added, usb_added, sim_added, vneid_added, method_removed, password_changed,
    email_changed, session_ended; ``device``: coarse (browser and system)."""

    account_id: str
    change: str
    phone_ids: list[str]
    at: str
    device: str
    email: bool = False


EVENT_TYPES: dict[str, type[EventPayload]] = {
    cls.__name__: cls
    for cls in (
        RegistrationRequested,
        OtpSent,
        OtpVerified,
        OtpFailed,
        CertificateValidated,
        CertificateRejected,
        AccountCreated,
        AccountActivated,
        RegistrationCompleted,
        RegistrationFailed,
        LoginSucceeded,
        LoginFailed,
        SessionRevoked,
        PasswordChanged,
        OtpPhoneReplaced,
        ProfileUpdated,
        AuthMethodAdded,
        AuthMethodRemoved,
        SecurityNoticeRequested,
    )
}
