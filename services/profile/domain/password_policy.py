"""The portal's password rule. Profile owns credentials, so it is the one owner of the rule:
registration hands a new account's password to ``stage_credential``, which applies it here,
as do the forgotten password, the first login of a post-office account and the password
change; the pages read it from ``password_policy`` (``RULES`` in order).

Seed (FLOWS.md): at least 8 characters with lowercase, uppercase, digit and special character.
Added: at most 128 characters (argon2 cost stays bounded), must not contain the person's ID
number or phone number, must not be a common password (one data file, shared/data, read
through shared.wordlists). Every unmet rule is reported at once, so the person fixes the
password in one go.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.wordlists import common_passwords

MIN_LENGTH = 8
MAX_LENGTH = 128
# Shorter fragments would refuse passwords for containing any few digits of the number.
_MIN_PERSONAL_FRAGMENT = 6
_COUNTRY_PREFIX = "+84"

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


def phone_forms(phone: str) -> list[str]:
    """The ways a person writes their number into a password: ``+84912345678`` →
    ``0912345678`` (national) and ``912345678`` (bare, also inside ``84912345678``). The two
    former copies of this rule each knew one form only."""
    if not phone.startswith(_COUNTRY_PREFIX):
        return [phone.lstrip("+")]
    bare = phone.removeprefix(_COUNTRY_PREFIX)
    return ["0" + bare, bare]


def _contains(password: str, personal: str | None) -> bool:
    return personal is not None and len(personal) >= _MIN_PERSONAL_FRAGMENT and personal in password


def unmet_rules(password: str, *, id_number: str | None, phones: Iterable[str],
                common: frozenset[str] | None = None) -> list[str]:
    """Ids of the rules ``password`` breaks, in the order of RULES; empty when it is good.
    ``phones``: the person's numbers in E.164."""
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
    if any(_contains(password, form) for phone in phones for form in phone_forms(phone)):
        broken.append("no_phone")
    if password.casefold() in (common if common is not None else common_passwords()):
        broken.append("not_common")
    return broken


def problems(password: str, *, id_number: str | None,
             phones: Iterable[str]) -> list[tuple[str, str]]:
    """(rule id, requirement phrase) for every unmet rule."""
    return [(rule, RULES[rule])
            for rule in unmet_rules(password, id_number=id_number, phones=phones)]
