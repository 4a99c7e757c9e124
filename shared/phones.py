"""How a phone is shown to a person: ``+84912345678`` → ``+8491****678``."""

from __future__ import annotations

import phonenumbers

# Kept visible: the country code and two national digits (which carrier), and the last three.
_HEAD_DIGITS = 2
_TAIL_DIGITS = 3


def mask_phone(phone: str) -> str:
    try:
        country = str(phonenumbers.parse(phone).country_code)
    except phonenumbers.NumberParseException:
        country = ""
    national = phone.removeprefix("+").removeprefix(country)
    if len(national) <= _HEAD_DIGITS + _TAIL_DIGITS:
        return "+" + country + "*" * len(national)
    return f"{'+' + country}{national[:_HEAD_DIGITS]}****{national[-_TAIL_DIGITS:]}"
