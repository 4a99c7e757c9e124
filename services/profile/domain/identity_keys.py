"""Identity keys: which person or enterprise an account is for, with the kind of document
always part of the key (the same rule as registration's domain/identity_keys.py).

``CMND:<9 digits>``, ``CCCD:<12 digits>``, ``HC:<passport number>``, ``MST:<tax code>`` (a
branch ``-NNN`` is its own key). ``HC:123456789`` and ``CMND:123456789`` are two people. A
12-digit CMND and a CCCD of the same digits are one key (``CCCD:…``): the CCCD kept the
12-digit number of the person's CMND, so the law makes them the same number.

What a person types as a username meets the keys here: a 9-digit number may only mean their
CMND, a 12-digit one their CCCD; a passport or a tax code is never a password login name
(passport holders and enterprises log in with their certificate).
"""

from __future__ import annotations

PERSONAL_TYPES = frozenset({"CMND", "CCCD"})
PASSPORT_TYPE = "HC"
ENTERPRISE_TYPE = "MST"
_TYPES = PERSONAL_TYPES | {PASSPORT_TYPE, ENTERPRISE_TYPE}


def typed_in_id_type(number: str) -> str | None:
    """The document a number typed into a "số CCCD/CMND" field is, or None."""
    if number.isascii() and number.isdigit() and len(number) in (9, 12):
        return "CMND" if len(number) == 9 else "CCCD"
    return None


def id_type_of(subject_type: str, id_type: str | None, number: str) -> str:
    """The document of an account's identity; accounts and events older than ``id_type``
    hold a tax code (enterprise) or a number typed as CCCD/CMND (citizen)."""
    if id_type:
        return id_type.upper()
    if subject_type == "enterprise":
        return ENTERPRISE_TYPE
    found = typed_in_id_type(number)
    if found is None:
        raise ValueError("an identity without its document type")
    return found


def identity_key(id_type: str, number: str) -> str:
    kind = id_type.upper()
    if kind not in _TYPES:
        raise ValueError(f"unknown identity type {kind!r}")
    if kind == "CMND" and len(number) == 12:
        kind = "CCCD"  # the same 12-digit number, the same person
    return f"{kind}:{number}"


def login_name_key(name: str) -> str | None:
    """The identity key a typed-in username may mean (CMND/CCCD only), or None."""
    kind = typed_in_id_type(name)
    return identity_key(kind, name) if kind else None


def logs_in_by_number(id_type: str) -> bool:
    """Whose ID number is also their username: CMND/CCCD holders, never a passport's."""
    return id_type.upper() in PERSONAL_TYPES
