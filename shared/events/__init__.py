"""Event envelope, payload schemas and subjects: the contract between services.

Only additive changes to a version. Payloads, headers and dead letters never carry credential
material: no password (not even as a hash), OTP code, PIN or token; a new account's password
goes to profile by request/reply (``stage_credential``) and AccountCreated names only its
``credential_id``. Personal fields ride only where a consumer needs them (``PERSONAL_FIELDS``).
"""

from shared.events.envelope import Envelope, new_event
from shared.events.schemas import (
    EVENT_TYPES,
    AccountActivated,
    AccountCreated,
    AuthMethodAdded,
    AuthMethodRemoved,
    CertificateRejected,
    CertificateValidated,
    EventPayload,
    LoginFailed,
    LoginSucceeded,
    OtpFailed,
    OtpPhoneReplaced,
    OtpSent,
    OtpVerified,
    PasswordChanged,
    ProfileUpdated,
    RegistrationCompleted,
    RegistrationFailed,
    RegistrationRequested,
    SecurityNoticeRequested,
    SessionRevoked,
)
from shared.events.subjects import (
    DLQ_STREAM,
    DLQ_SUBJECT_PREFIX,
    EVENTS_STREAM,
    EVENTS_SUBJECT_PREFIX,
    event_subject,
)

__all__ = [
    "DLQ_STREAM",
    "DLQ_SUBJECT_PREFIX",
    "EVENTS_STREAM",
    "EVENTS_SUBJECT_PREFIX",
    "EVENT_TYPES",
    "AccountActivated",
    "AccountCreated",
    "AuthMethodAdded",
    "AuthMethodRemoved",
    "CertificateRejected",
    "CertificateValidated",
    "Envelope",
    "EventPayload",
    "LoginFailed",
    "LoginSucceeded",
    "OtpFailed",
    "OtpPhoneReplaced",
    "OtpSent",
    "OtpVerified",
    "PasswordChanged",
    "ProfileUpdated",
    "RegistrationCompleted",
    "RegistrationFailed",
    "RegistrationRequested",
    "SecurityNoticeRequested",
    "SessionRevoked",
    "event_subject",
    "new_event",
]
