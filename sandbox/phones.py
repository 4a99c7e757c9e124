"""Phone numbers as the outside world sees them: parsed by ``phonenumbers``, region VN."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def to_e164(raw: str) -> str | None:
    """Any valid number (Vietnamese forms like 0912345678 / 84912345678 included) as E.164."""
    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def vietnamese_mobile_e164(raw: str) -> str | None:
    """A Vietnamese mobile subscriber number as E.164, or None if it is not one."""
    e164 = to_e164(raw)
    if e164 is None:
        return None
    number = phonenumbers.parse(e164)
    if phonenumbers.region_code_for_number(number) != "VN":
        return None
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return None
    return e164
