"""Vietnamese mobile numbers: parsed by libphonenumber (the ``phonenumbers`` port), kept E.164."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from services.registration.domain.errors import InvalidPhone

REGION = "VN"
COUNTRY_PREFIX = "+84"


def normalize_mobile(raw: str) -> str:
    """Any usual Vietnamese form (0912 345 678, +84 912345678, 84-912-345-678) → +84912345678."""
    try:
        number = phonenumbers.parse(raw, REGION)
    except NumberParseException as exc:
        raise InvalidPhone("Số điện thoại không đúng định dạng.") from exc
    if phonenumbers.region_code_for_number(number) != REGION:
        raise InvalidPhone("Chỉ chấp nhận số thuê bao di động của nhà mạng Việt Nam.")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("Số điện thoại không tồn tại trong kế hoạch đánh số của Việt Nam.")
    if phonenumbers.number_type(number) != PhoneNumberType.MOBILE:
        raise InvalidPhone("Số điện thoại phải là số thuê bao di động (không phải số cố định).")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def national_digits(e164: str) -> str:
    """+84912345678 → 912345678 (the part people recognise in 0912345678 and 84912345678)."""
    return e164.removeprefix(COUNTRY_PREFIX)

