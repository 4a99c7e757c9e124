"""Identity keys: who an account is for, with the kind of document always part of the key.

``CMND:<9 digits>``, ``CCCD:<12 digits>``, ``HC:<passport number>``, ``MST:<10 digits>`` or
``MST:<10 digits>-<3 digits>`` (a branch is its own taxpayer). ``HC:123456789`` and
``CMND:123456789`` are two different people, so the duplicate check, its unique index and
every lookup use the typed key, never the bare number.

One exception, where the law makes them the same number: a 12-digit CMND was issued on the
CCCD numbering scheme, and the CCCD (now thẻ căn cước) that replaces it keeps the person's
12-digit number (Luật Căn cước công dân 2014, Luật Căn cước 2023). A 12-digit CMND and a CCCD
of the same digits are the same person: both are ``CCCD:<12 digits>``. A 9-digit CMND holder
who later got a CCCD has a new number that nothing here can link to the old one: two keys.
The forms where a person types "số CCCD/CMND" cannot tell a 12-digit CMND from a CCCD either.

profile derives the same keys (services never import each other; the rule is this one).
"""

from __future__ import annotations

PERSONAL_TYPES = frozenset({"CMND", "CCCD", "HC"})
ENTERPRISE_TYPE = "MST"
_TYPES = PERSONAL_TYPES | {ENTERPRISE_TYPE}


def personal_id_type(number: str) -> str:
    """The document a typed-in "số CCCD/CMND" is: 9 digits a CMND, 12 digits a CCCD."""
    if number.isascii() and number.isdigit() and len(number) in (9, 12):
        return "CMND" if len(number) == 9 else "CCCD"
    raise ValueError("not a CMND/CCCD number")


def identity_key(id_type: str | None, number: str) -> str:
    """The typed key; ``id_type`` None means a number typed into a CCCD/CMND field."""
    kind = (id_type or personal_id_type(number)).upper()
    if kind not in _TYPES:
        raise ValueError(f"unknown identity type {kind!r}")
    if kind == "CMND" and len(number) == 12:
        kind = "CCCD"  # the same 12-digit number, the same person (see above)
    return f"{kind}:{number}"


def event_identity_key(subject_type: str, id_type: str | None, number: str) -> str:
    """The key of an AccountCreated identity; events older than ``id_type`` carry a tax code
    (enterprise) or a number typed as CCCD/CMND (citizen)."""
    if id_type is None and subject_type == "enterprise":
        id_type = ENTERPRISE_TYPE
    return identity_key(id_type, number)
