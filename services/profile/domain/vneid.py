"""VNeID (the national e-ID, issue 15): who a VNeID identity is to dvcid, and whose account it
may open. Pure rules; the gateway verified the ID token (signature, issuer, audience, nonce)
and hands over its claims only.

A VNeID identity is linked to an account as one of its methods (``vneid``, the VNeID ``sub``
in its details). It logs in straight away only where it is linked. It may be linked only to
the account of the same person: the account's identity key is the CCCD the ID token names
(``CCCD:<12 digits>``), never another, whatever else matches (a name, a birth date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.profile.domain.identity_keys import identity_key
from services.profile.domain.models import Account, AuthMethod

VNEID_METHOD = "vneid"
# VNeID level 2 (the app activated with the chip card, then the PIN): a level-2 session,
# as password + OTP (FLOWS.md: a session records the level of the method it used).
VNEID_LEVEL = 2
SUB_DETAIL = "vneid_sub"


@dataclass(frozen=True)
class VneidIdentity:
    sub: str
    cccd: str  # the 12-digit personal identification number (the ``cccd`` claim)
    full_name: str
    birth_date: str | None = None

    @property
    def account_key(self) -> str:
        """The identity key of the one account this person may have (``CCCD:…``)."""
        return identity_key("CCCD", self.cccd)


def linked_method(account: Account) -> AuthMethod | None:
    return next((m for m in account.auth_methods if m.type == VNEID_METHOD), None)


def is_linked(account: Account, identity: VneidIdentity) -> bool:
    method = linked_method(account)
    return method is not None and method.details.get(SUB_DETAIL) == identity.sub


def may_link(account: Account, identity: VneidIdentity) -> bool:
    """Only the account of the CCCD the ID token names, a citizen's, not linked to another
    VNeID identity already, and not a staff account (they live under their own keys)."""
    return (account.subject_type == "citizen"
            and account.index_key == identity.account_key
            and linked_method(account) is None)


def link_method(method_id: str, identity: VneidIdentity, now: datetime) -> AuthMethod:
    return AuthMethod(method_id, VNEID_METHOD, now, details={SUB_DETAIL: identity.sub})
