"""Which personal fields ride which event, and who needs them (issue 11): the machine-readable
form of the table in docs/messaging.md ("Personal data in events"), which a test checks
against this one.

An event carries a personal field only where a consumer named here needs it; every other
field of every event is free of personal data, and no field anywhere is credential material
(a password or its hash, an OTP code, a PIN, a token, a secret). The e2e suite reads every
event and dead letter it produced and checks both rules (tests/security/
test_events_and_dead_letters_hold_no_secrets.py); ``dvcid admin dlq`` masks the fields named
here when it shows a dead letter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PersonalField:
    event: str
    # Dotted path in the payload; "identity" covers the whole identity object.
    field: str
    # Durable consumer names (docs/messaging.md) that read it.
    consumers: tuple[str, ...]
    why: str


_PROFILE_ACCOUNT = "profile-account-created"
_PROJECTION = "registration-account-created"
_ACTIVITY = "profile-account-activity"

PERSONAL_FIELDS: tuple[PersonalField, ...] = (
    PersonalField("RegistrationRequested", "phone", ("otp-registration-requested",),
                  "the number the registration code is texted to"),
    PersonalField("OtpVerified", "phone", ("registration-otp-verified",),
                  "the code must have been verified for the flow's own number"),
    PersonalField("CertificateValidated", "identity", ("registration-certificate-validated",),
                  "the signer's identity becomes the registration's (duplicate check, account)"),
    PersonalField("AccountCreated", "identity.id_number", (_PROFILE_ACCOUNT, _PROJECTION),
                  "the account's identity key; registration's one-account-per-person projection"),
    PersonalField("AccountCreated", "identity.id_type", (_PROFILE_ACCOUNT, _PROJECTION),
                  "the document the number is of: part of the identity key"),
    PersonalField("AccountCreated", "identity.full_name", (_PROFILE_ACCOUNT,),
                  "the account's proven identity (me, telco check of a lost phone)"),
    PersonalField("AccountCreated", "identity.birth_date", (_PROFILE_ACCOUNT,),
                  "the account's proven identity (telco check of a lost phone)"),
    PersonalField("AccountCreated", "identity.sex", (_PROFILE_ACCOUNT,),
                  "the account's proven identity"),
    PersonalField("AccountCreated", "identity.tax_code", (_PROFILE_ACCOUNT,),
                  "an enterprise's identity"),
    PersonalField("AccountCreated", "phone", (_PROFILE_ACCOUNT,),
                  "the proven OTP phone of the account"),
    PersonalField("AccountCreated", "email", (_PROFILE_ACCOUNT,),
                  "the account's contact e-mail"),
    PersonalField("AccountCreated", "username", (_PROFILE_ACCOUNT,),
                  "the login name issued at the post office counter"),
    PersonalField("AccountCreated", "vneid_sub", (_PROFILE_ACCOUNT,),
                  "VNeID's name of the person, linked to the account it made (issue 15)"),
    PersonalField("LoginSucceeded", "ip", (_ACTIVITY,),
                  "the owner's activity log shows where a login came from"),
    PersonalField("LoginSucceeded", "user_agent", (_ACTIVITY,),
                  "coarsened to a device name in the owner's activity log"),
    PersonalField("LoginFailed", "ip", (_ACTIVITY,),
                  "the owner's activity log shows where failed logins came from"),
    PersonalField("LoginFailed", "user_agent", (_ACTIVITY,),
                  "coarsened to a device name in the owner's activity log"),
    PersonalField("OtpPhoneReplaced", "phone", (_ACTIVITY,),
                  "masked in the owner's activity log (which phone replaced the lost one)"),
)

# Field names that hold personal data wherever they appear (a payload, an extra, a nested
# object): the scan's notion of "a personal field", and what the DLQ tool masks.
PERSONAL_NAMES = frozenset({"phone", "email", "id_number", "full_name", "birth_date", "sex",
                            "tax_code", "ip", "user_agent", "username", "address",
                            "representative", "identity"})
# Personal fields a schema still declares for events published before issue 11, no longer
# filled in: nobody consumes them.
NOT_PUBLISHED: frozenset[tuple[str, str]] = frozenset({("OtpSent", "phone"),
                                                       ("OtpFailed", "phone")})
# Name parts of credential material (``must_change_password`` is a flag, not a credential:
# only string values count).
CREDENTIAL_PARTS = frozenset({"password", "hash", "otp", "code", "token", "pin", "secret"})
_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Fields whose names look like credentials but hold a code that is no secret, with the shape
# their value must have (a 6-digit value there would still be caught).
NOT_CREDENTIALS: dict[tuple[str, str], re.Pattern[str]] = {
    ("RegistrationFailed", "code"): _ERROR_CODE,  # an error code of API.md
    # The post office's own code (e.g. "HN-001"), set by the operator for the agent.
    ("AccountCreated", "registered_by.office.code"): re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,31}"),
}
# Values that are credential material whatever their field is called.
_CREDENTIAL_VALUES = re.compile(r"\$argon2|\$2[aby]\$|\$scrypt\$|\$pbkdf2")


def allowed(event: str, path: str) -> tuple[str, ...]:
    """The consumers documented for a personal field (``path`` or a parent of it)."""
    for entry in PERSONAL_FIELDS:
        if entry.event == event and (path == entry.field or path.startswith(entry.field + ".")):
            return entry.consumers
    return ()


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            child = f"{path}.{key}" if path else str(key)
            yield child, inner
            yield from _walk(inner, child)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk(inner, path)


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def credential_findings(event: str, payload: Mapping[str, Any]) -> list[str]:
    """Paths in a payload holding credential material: by value (a password hash), or a
    string under a credential's name."""
    found = []
    for path, value in _walk(payload):
        if not isinstance(value, str) or not value:
            continue
        if _CREDENTIAL_VALUES.search(value):
            found.append(path)
            continue
        parts = set(_leaf(path).lower().split("_"))
        # ``tax_code`` is an enterprise's identity (personal, documented), not a code.
        if parts & CREDENTIAL_PARTS and _leaf(path) not in PERSONAL_NAMES:
            shape = NOT_CREDENTIALS.get((event, path))
            if shape is not None and shape.fullmatch(value):
                continue
            found.append(path)
    return found


def undocumented_personal_fields(event: str, payload: Mapping[str, Any]) -> list[str]:
    """Paths of personal fields (non-empty) that the table does not give a consumer for."""
    # Containers (``identity``) are judged by their leaves; a flag (SecurityNoticeRequested's
    # ``email: true``, "it had an address") holds no value of the person's.
    return [path for path, value in _walk(payload)
            if _leaf(path) in PERSONAL_NAMES and not isinstance(value, Mapping | bool)
            and value not in (None, "", []) and not allowed(event, path)]


def mask(value: Any, key: str = "") -> Any:
    """A copy with every personal field's value masked (for operators' eyes: dvcid admin dlq),
    and credential-named strings removed altogether."""
    if isinstance(value, Mapping):
        return {k: mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, key) for v in value]
    if isinstance(value, str) and value:
        if _CREDENTIAL_VALUES.search(value):
            return "***"
        # An error code (``code: "otp_invalid"``) stays readable; a numeric code does not.
        if set(key.lower().split("_")) & CREDENTIAL_PARTS and not (
                key == "code" and _ERROR_CODE.fullmatch(value)):
            return "***"
        if key in PERSONAL_NAMES:
            return _masked(value)
    return value


def _masked(value: str) -> str:
    # Enough to tell two records apart when the operator also holds the original, no more.
    return value[:2] + "*" * max(len(value) - 4, 1) + value[-2:] if len(value) > 4 else "***"
