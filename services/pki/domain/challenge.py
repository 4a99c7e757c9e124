"""Signature challenges: random, single use, valid 5 minutes, bound to one flow.

A challenge is keyed by ``(purpose, flow_id)``: asking again replaces it. It is consumed only
by a successful verification, atomically, so a replayed signature meets ``challenge_expired``.
The nonce is not a secret; possession of the private key is.

What a USB token signs is never the bare nonce but a domain-separated message (``message``):
``b"dvcid-auth-v1\0" + portal origin + b"\0" + 32-byte nonce``. The signing agent
(``dvcid signer``) signs nothing but this shape, for the origin of the page that asks; pki
verifies the signature over the same whole message. So a signature made for dvcid is never a
signature over a document, a signature over a document (or a bare nonce, or a challenge of
another site) never logs anyone in here.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.pki.domain.errors import ChallengeExpired

CHALLENGE_TTL = timedelta(minutes=5)
NONCE_BYTES = 32
CHALLENGE_PREFIX = b"dvcid-auth-v1\0"
# Where ``dvcid dev`` serves the portal; production names its own (config refuses this one).
DEV_PORTAL_ORIGIN = "http://127.0.0.1:8000"
# Kept a while after expiry so a late answer is told challenge_expired, then purged (TTL).
RETENTION = timedelta(hours=1)


@dataclass(frozen=True)
class Challenge:
    purpose: str
    flow_id: str
    nonce: bytes
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def ensure_usable(self, now: datetime) -> None:
        if self.used_at is not None or now >= self.expires_at:
            raise ChallengeExpired()


def message(origin: str, nonce: bytes) -> bytes:
    """The bytes a USB token signs for this challenge at the portal ``origin``."""
    return CHALLENGE_PREFIX + origin.encode("ascii") + b"\0" + nonce


def checked_origin(origin: str) -> str:
    """The portal origin as browsers send it (scheme://host[:port], no path, no slash)."""
    if (not origin.isascii() or "\0" in origin or origin.endswith("/")
            or not origin.startswith(("https://", "http://"))
            or "/" in origin.split("://", 1)[1]):
        raise ValueError(f"not a web origin: {origin!r}")
    return origin


def new_challenge(purpose: str, flow_id: str, now: datetime) -> Challenge:
    return Challenge(purpose=purpose, flow_id=flow_id, nonce=secrets.token_bytes(NONCE_BYTES),
                     created_at=now, expires_at=now + CHALLENGE_TTL)


def verification_code(digest: bytes) -> str:
    """Mobile-ID's 4-digit control code: the 6 high bits of the hash's first byte and the 7 low
    bits of its last byte, as a number 0000-8191. The phone shows the same code, so the person
    can check that the request they approve is the one on the screen."""
    return f"{((digest[0] >> 2) << 7) | (digest[-1] & 0x7F):04d}"


def sim_digest(nonce: bytes) -> bytes:
    """What the SIM signs: the SHA-256 of the challenge nonce (the provider signs a hash)."""
    return hashlib.sha256(nonce).digest()
