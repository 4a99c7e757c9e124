"""Registration by social-insurance code (mã số BHXH): citizens only, level 2.

The person enters their BHXH code (10 digits), ID number, full name, birth date and phone. The
BHXH registry's record of that code must carry the same ID number, birth date and name (names
compared after NFC, case folding and whitespace collapsing, never by stripping diacritics:
Nguyễn ≠ Nguyên). The identity of the account is the record's (sex included, which the form
does not ask for), and the duplicate check uses the record's ID number. Then an OTP to the
phone proves possession of it, and a password makes the account.

The printed card is no secret (anyone holding it knows every field above), so the phone must
be the person's too (FLOWS.md, "Whose phone"): the phone of the insurance record, or, when the
record has none or an older one, a phone the carrier has registered to the same ID number.
Otherwise ``bhxh_phone_mismatch`` and nothing is stored, no code sent. Then the OTP proves
possession of the phone, as in every level-2 registration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from services.registration.domain.errors import (
    BhxhMismatch,
    BhxhNotFound,
    BhxhPhoneMismatch,
    InvalidPhone,
)
from services.registration.domain.fields import FieldErrors
from services.registration.domain.identity import (
    Identity,
    name_key,
    normalize_name,
    validate_id_number,
)
from services.registration.domain.methods import person_fields as person
from services.registration.domain.model import BHXH_LEVEL, InsuredPerson, Subscriber
from services.registration.domain.phone import normalize_mobile
from shared.contracts.registration import BhxhStart

METHOD = "bhxh"
LEVEL = BHXH_LEVEL
# A subscription in any other state cannot vouch for its holder (as for the mobile method).
ACTIVE_SUBSCRIBER_STATUS = "active"
BHXH_CODE_DIGITS = 10
_BHXH_CODE = re.compile(rf"^\d{{{BHXH_CODE_DIGITS}}}$")


@dataclass(frozen=True)
class BhxhApplication:
    """What the person declared; the identity of the account comes from the record."""

    subject_type: Literal["citizen"]
    bhxh_code: str
    id_number: str
    full_name: str
    birth_date: date
    phone: str  # E.164
    email: None = None  # the BHXH form has no e-mail field (API.md)


def normalize_bhxh_code(raw: str) -> str | None:
    """The 10 digits (spaces and dots people type between groups dropped), or None."""
    code = re.sub(r"[\s.]", "", raw)
    return code if code.isascii() and _BHXH_CODE.match(code) else None


def parse_application(request: BhxhStart, today: date) -> BhxhApplication:
    """Validates the fields of a BHXH registration: shape problems together as
    ``validation_error``; then the ID number (``invalid_id_number``: province, century and
    birth-year digits against the birth date, sex being unknown until the record is read) and
    the phone (``invalid_phone``)."""
    errors = FieldErrors()
    person.citizen_only(errors, request.subject_type, "mã số BHXH")
    bhxh_code = _bhxh_code(errors, request.bhxh_code)
    raw_id = errors.required_text(request.id_number, "id_number", "số CCCD/CMND")
    full_name = person.full_name(errors, request.full_name)
    birth_date = person.birth_date(errors, request.birth_date, today)
    raw_phone = errors.required_text(request.phone, "phone", "số điện thoại")
    errors.raise_if_any()
    assert bhxh_code and raw_id and full_name and birth_date and raw_phone

    id_number = validate_id_number(raw_id, birth_date, None)
    phone = normalize_mobile(raw_phone)
    return BhxhApplication(subject_type="citizen", bhxh_code=bhxh_code, id_number=id_number,
                           full_name=full_name, birth_date=birth_date, phone=phone)


def _bhxh_code(errors: FieldErrors, value: str | None) -> str | None:
    raw = errors.required_text(value, "bhxh_code", "mã số BHXH")
    if raw is None:
        return None
    code = normalize_bhxh_code(raw)
    if code is None:
        errors.add("bhxh_code", f"Mã số BHXH gồm đúng {BHXH_CODE_DIGITS} chữ số (in trên thẻ "
                                "BHYT hoặc sổ BHXH).")
    return code


def matches(application: BhxhApplication, record: InsuredPerson) -> bool:
    return (
        record.bhxh_code == application.bhxh_code
        and record.id_number == application.id_number
        and record.birth_date == application.birth_date
        and name_key(record.full_name) == name_key(application.full_name)
    )


def proven_identity(application: BhxhApplication, record: InsuredPerson | None) -> Identity:
    """The identity the record vouches for, or the error that ends the registration.

    Neither error reveals anything about the record (which field differed, or any value)."""
    if record is None:
        raise BhxhNotFound()
    if not matches(application, record):
        raise BhxhMismatch()
    return Identity(id_number=record.id_number, full_name=normalize_name(record.full_name),
                    birth_date=record.birth_date, sex=record.sex)


def phone_on_record(application: BhxhApplication, record: InsuredPerson | None) -> bool:
    """The phone entered is the one the insurer holds for this person."""
    if record is None or record.phone is None:
        return False
    try:
        return normalize_mobile(record.phone) == application.phone
    except InvalidPhone:
        return False  # a malformed number on record vouches for nothing


def check_phone_at_carrier(identity: Identity, subscriber: Subscriber | None) -> None:
    """Without the record's phone, the carrier must have the phone registered, active, to the
    ID number the record proved; else ``bhxh_phone_mismatch`` (saying nothing of whose it is)."""
    if (subscriber is None
            or subscriber.status.casefold() != ACTIVE_SUBSCRIBER_STATUS
            or subscriber.id_number != identity.id_number):
        raise BhxhPhoneMismatch()
