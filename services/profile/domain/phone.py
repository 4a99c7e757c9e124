"""Vietnamese mobile numbers as people type them, to E.164 (a real parser, not a regex)."""

from __future__ import annotations

import phonenumbers

from services.profile.domain.errors import InvalidPhone

_MOBILE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def vietnamese_mobile(raw: str) -> str:
    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        raise InvalidPhone(fields=[{"name": "phone", "detail": InvalidPhone.default_detail}]) from None
    if (number.country_code != 84 or not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in _MOBILE):
        raise InvalidPhone(fields=[{"name": "phone", "detail": InvalidPhone.default_detail}])
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
