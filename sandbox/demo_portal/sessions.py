"""The demo portal's server-side logins and OpenID Connect Back-Channel Logout 1.0.

The browser's cookie carries a random id only; the login (claims, userinfo, ID token, and the
provider's ``sid`` and ``sub``) stays in this process. A logout token the provider POSTs to
``/backchannel-logout`` is verified with joserfc against the provider's JWKS (signature, ``typ``,
``iss``, ``aud``, ``iat``, ``exp``, the back-channel ``events`` member, ``sid`` or ``sub``, no
``nonce``, its ``jti`` used once) and ends every login it names."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# The provider's clock may run a little ahead or behind ours.
LEEWAY_SECONDS = 60
# How long a logout token's jti is remembered (its exp is minutes away; this outlives it).
JTI_SECONDS = 600
ALGORITHMS = ["ES256", "RS256", "PS256", "EdDSA"]


class InvalidLogoutToken(Exception):
    """A logout token refused; its ``reason`` is short and has no secret in it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Login:
    claims: dict[str, Any]
    userinfo: dict[str, Any]
    id_token: str | None
    started: float = field(default_factory=time.time)

    @property
    def sid(self) -> str | None:
        value = self.claims.get("sid")
        return str(value) if value else None

    @property
    def sub(self) -> str | None:
        value = self.claims.get("sub")
        return str(value) if value else None


class Logins:
    """Logins by random id (the cookie's), in memory."""

    def __init__(self) -> None:
        self._logins: dict[str, Login] = {}

    def add(self, login: Login) -> str:
        login_id = secrets.token_urlsafe(32)
        self._logins[login_id] = login
        return login_id

    def get(self, login_id: str | None) -> Login | None:
        return self._logins.get(login_id) if login_id else None

    def remove(self, login_id: str | None) -> Login | None:
        return self._logins.pop(login_id, None) if login_id else None

    def end(self, *, sid: str | None, sub: str | None) -> int:
        """Ends the logins of the provider's session ``sid`` (and ``sub`` if both are given),
        or, with ``sub`` only, every login of that subject. Returns how many ended."""
        ended = [login_id for login_id, login in self._logins.items()
                 if (sid is None or login.sid == sid) and (sub is None or login.sub == sub)]
        for login_id in ended:
            del self._logins[login_id]
        return len(ended)


class SeenJtis:
    """Logout tokens already used, by ``iss`` and ``jti``, for ``JTI_SECONDS``."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}

    def first_use(self, issuer: str, jti: str) -> bool:
        now = time.monotonic()
        self._seen = {key: until for key, until in self._seen.items() if until > now}
        if (issuer, jti) in self._seen:
            return False
        self._seen[(issuer, jti)] = now + JTI_SECONDS
        return True


def verify_logout_token(token: str, jwks: dict[str, Any], *, issuer: str, client_id: str,
                        seen: SeenJtis, now: float | None = None) -> dict[str, Any]:
    """The logout token's claims once every Back-Channel Logout 1.0 rule holds (2.6)."""
    try:
        decoded = jwt.decode(token, KeySet.import_key_set(jwks),  # type: ignore[arg-type]
                             algorithms=ALGORITHMS)
    except (JoseError, ValueError) as error:
        raise InvalidLogoutToken(f"signature: {type(error).__name__}") from None
    typ = decoded.header.get("typ")
    if typ is not None and str(typ).lower() not in ("logout+jwt", "application/logout+jwt"):
        raise InvalidLogoutToken("typ")
    claims = decoded.claims
    registry = jwt.JWTClaimsRegistry(
        now=int(now) if now is not None else None, leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer}, aud={"essential": True, "value": client_id},
        iat={"essential": True}, exp={"essential": True}, jti={"essential": True})
    try:
        registry.validate(claims)
    except JoseError as error:
        raise InvalidLogoutToken(f"claims: {error.error}") from None
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise InvalidLogoutToken("events")
    if "nonce" in claims:
        raise InvalidLogoutToken("nonce")
    if not claims.get("sid") and not claims.get("sub"):
        raise InvalidLogoutToken("sid/sub")
    if not seen.first_use(issuer, str(claims["jti"])):
        raise InvalidLogoutToken("jti replayed")
    return dict(claims)
