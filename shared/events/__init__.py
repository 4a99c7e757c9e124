"""Event envelope, payload schemas and subjects: the contract between services.

Only additive changes to a version. Payloads never carry a password, OTP code, PIN or session
token in clear (a password travels only as an argon2id hash).
"""

from shared.events.envelope import Envelope, new_event
from shared.events.schemas import (
    EVENT_TYPES,
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
