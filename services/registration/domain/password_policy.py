"""The password rule of the portal (seed guide) and the checks a real system adds.

Seed: at least 8 characters with a lowercase letter, an uppercase letter, a digit and a special
character. Added: at most 128 characters (argon2 cost stays bounded), must not contain the
person's ID number or phone number, must not be a common password. Every unmet rule is
reported at once, so the person fixes the password in one go.
"""

from __future__ import annotations

from shared.wordlists import common_passwords

MIN_LENGTH = 8
MAX_LENGTH = 128
# Shorter fragments would refuse passwords for containing any few digits of the number.
_MIN_PERSONAL_FRAGMENT = 6

# rule id → the requirement, phrased to follow "Mật khẩu cần ..."
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


def unmet_rules(password: str, *, id_number: str | None, phone_digits: str | None) -> list[str]:
    """Ids of the rules ``password`` breaks, in the order of RULES; empty when it is good."""
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
    if _contains(password, phone_digits):
        broken.append("no_phone")
    if password.casefold() in common_passwords():
        broken.append("not_common")
    return broken


def problems(password: str, *, id_number: str | None, phone_digits: str | None) -> list[tuple[str, str]]:
    """(rule id, requirement phrase) for every unmet rule."""
    return [(rule, RULES[rule])
            for rule in unmet_rules(password, id_number=id_number, phone_digits=phone_digits)]
