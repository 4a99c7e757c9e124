"""The simulated mobile signature (SIM) provider: per-phone keys with sandbox-CA certificates,
signing requests that wait for the SIM owner to approve (with the PIN) or reject on the
sandbox page (``/dev/sim/{phone}/approve`` · ``/reject``), or time out.

It answers like Mobile-ID's REST API (docs/external/mobile-signature.md): a session per
request, ``state`` RUNNING until COMPLETE with ``result`` OK, USER_CANCELLED, TIMEOUT or
NOT_CLIENT. The signature is over the hash the relying party sent (the SIM signs a digest).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from sandbox.ca import Issued


@dataclass
class SimSubscriber:
    phone: str
    issued: Issued
    pin_hash: bytes
    salt: bytes

    def pin_matches(self, pin: str) -> bool:
        return hmac.compare_digest(_pin_hash(pin, self.salt), self.pin_hash)


@dataclass
class SigningSession:
    id: str
    phone: str
    digest: bytes
    display_text: str
    created_at: datetime
    state: str = "RUNNING"
    result: str | None = None
    signature: bytes | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def complete(self, result: str, signature: bytes | None = None) -> None:
        self.state, self.result, self.signature = "COMPLETE", result, signature
        self.changed.set()


class SimProvider:
    def __init__(self, clock: Callable[[], datetime], timeout: timedelta) -> None:
        self.clock = clock
        self.timeout = timeout
        self.subscribers: dict[str, SimSubscriber] = {}
        self.sessions: dict[str, SigningSession] = {}

    def add_subscriber(self, phone: str, issued: Issued, pin: str) -> SimSubscriber:
        salt = secrets.token_bytes(16)
        subscriber = SimSubscriber(phone, issued, _pin_hash(pin, salt), salt)
        self.subscribers[phone] = subscriber
        return subscriber

    def start(self, phone: str, digest: bytes, display_text: str) -> SigningSession:
        session = SigningSession(id=secrets.token_hex(16), phone=phone, digest=digest,
                                 display_text=display_text, created_at=self.clock())
        self.sessions[session.id] = session
        if phone not in self.subscribers:
            session.complete("NOT_CLIENT")
        return session

    def pending(self, phone: str) -> SigningSession | None:
        """The request the phone shows now: the newest still running one."""
        for session in reversed(list(self.sessions.values())):
            if session.phone == phone:
                self._expire(session)
                return session if session.state == "RUNNING" else None
        return None

    async def status(self, session_id: str, wait_seconds: float) -> SigningSession | None:
        session = self.sessions.get(session_id)
        if session is None:
            return None
        self._expire(session)
        if session.state == "RUNNING" and wait_seconds > 0:
            left = (session.created_at + self.timeout - self.clock()).total_seconds()
            try:
                await asyncio.wait_for(session.changed.wait(), max(0.0, min(wait_seconds, left)))
            except TimeoutError:
                self._expire(session)
        return session

    def approve(self, session: SigningSession) -> None:
        key = self.subscribers[session.phone].issued.private_key
        if isinstance(key, rsa.RSAPrivateKey):
            signature = key.sign(session.digest, padding.PKCS1v15(),
                                 utils.Prehashed(hashes.SHA256()))
        else:
            signature = key.sign(session.digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        session.complete("OK", signature)

    def _expire(self, session: SigningSession) -> None:
        if session.state == "RUNNING" and self.clock() >= session.created_at + self.timeout:
            session.complete("TIMEOUT")

    def certificate_b64(self, phone: str) -> str:
        certificate = self.subscribers[phone].issued.certificate
        return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def _pin_hash(pin: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, 10_000)


def verification_code(digest: bytes) -> str:
    """What the phone displays: Mobile-ID's 4-digit control code of the hash."""
    return f"{((digest[0] >> 2) << 7) | (digest[-1] & 0x7F):04d}"
