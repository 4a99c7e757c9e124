"""The portal's password rule, as profile applies it when a password is set again (forgot
password, first login of a post-office account).

The rule is the registration's (FLOWS.md: at least 8 characters with lowercase, uppercase,
digit and special character; not containing the ID number or phone; not a common password).
Services never import each other, so the rule is restated here; the list of common passwords
is one data file shared by both (shared/data, read through shared.wordlists).
"""

from __future__ import annotations

from shared.wordlists import common_passwords

MIN_LENGTH = 8
MAX_LENGTH = 128
_MIN_PERSONAL_FRAGMENT = 6

RULES: dict[str, str] = {
    "min_length": f"có ít nhất {MIN_LENGTH} ký tự",
    "max_length": f"có nhiều nhất {MAX_LENGTH} ký tự",
    "lowercase": "có ít nhất một chữ cái thường (a–z)",
    "uppercase": "có ít nhất một chữ cái in hoa (A–Z)",
    "digit": "có ít nhất một chữ số (0–9)",
    "special": "có ít nhất một ký tự đặc biệt (ví dụ ! @ # $ % & *)",
    "no_id_number": "không chứa số CCCD/CMND của bạn",
    "no_phone": "không chứa số điện thoại của bạn",
    "not_common": "không phải là mật khẩu phổ biến, dễ đoán",
}



def _contains(password: str, personal: str | None) -> bool:
    return personal is not None and len(personal) >= _MIN_PERSONAL_FRAGMENT and personal in password


def unmet_rules(password: str, *, id_number: str | None, phone_digits: list[str],
                common: frozenset[str] | None = None) -> list[str]:
    broken: list[str] = []
    if len(password) < MIN_LENGTH:
        broken.append("min_length")
    if len(password) > MAX_LENGTH:
        broken.append("max_length")
    if not any(c.islower() for c in password):
        broken.append("lowercase")
    if not any(c.isupper() for c in password):
        broken.append("uppercase")
    if not any(c in "0123456789" for c in password):
        broken.append("digit")
    if not any(not c.isalnum() and not c.isspace() for c in password):
        broken.append("special")
    if _contains(password, id_number):
        broken.append("no_id_number")
    if any(_contains(password, digits) for digits in phone_digits):
        broken.append("no_phone")
    if password.casefold() in (common if common is not None else common_passwords()):
        broken.append("not_common")
    return broken


def problems(password: str, *, id_number: str | None,
             phone_digits: list[str]) -> list[tuple[str, str]]:
    """(rule id, requirement phrase) for every unmet rule."""
    return [(rule, RULES[rule])
            for rule in unmet_rules(password, id_number=id_number, phone_digits=phone_digits)]
