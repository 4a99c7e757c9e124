"""Registration with VNeID (issue 15): a citizen VNeID vouches for at level 2 (the app
activated with the chip card, then the PIN) gets a level-2 account whose way in is VNeID.

The proof is the claims of a VNeID ID token the gateway verified (signature against VNeID's
JWKS, issuer, audience, expiry, nonce), handed over as ``VneidStart``: the CCCD, name, birth
date and sex VNeID holds, and VNeID's ``sub``. No password, no phone: the account logs in with
VNeID (profile's method ``vneid``) and may add others later.

    awaiting_confirmation ──(confirm, optional e-mail)──▶ completed: AccountCreated
        (method vneid, level 2, ``vneid_sub``) + RegistrationCompleted
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.registration.domain.identity import Identity
from shared.contracts.registration import VneidStart

METHOD = "vneid"
LEVEL = 2


@dataclass(frozen=True)
class VneidApplication:
    identity: Identity
    vneid_sub: str


def parse_application(request: VneidStart) -> VneidApplication:
    """The identity VNeID vouched for, as it is (VNeID holds the national population
    database's record: no typed field to check against it)."""
    return VneidApplication(
        identity=Identity(id_number=request.id_number, full_name=request.full_name,
                          birth_date=date.fromisoformat(request.birth_date), sex=request.sex),
        vneid_sub=request.vneid_sub)
