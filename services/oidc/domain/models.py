"""What the OpenID Provider keeps: registered clients, authorization grants (codes) and access
tokens. Codes, tokens and client secrets are kept only as hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

AuthMethod = Literal["client_secret_basic", "private_key_jwt", "none"]


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    auth_method: AuthMethod
    created_at: datetime
    # SHA-256 (hex) of a client_secret_basic client's secret.
    secret_sha256: str | None = None
    # A private_key_jwt client's public keys: where it publishes them, or the set itself.
    jwks_uri: str | None = None
    jwks: dict[str, Any] | None = None
    # Where the client may send the browser after an RP-initiated logout (exact match).
    post_logout_redirect_uris: tuple[str, ...] = ()
    # Where dvcid POSTs a logout token when a session the client signed in with ends.
    backchannel_logout_uri: str | None = None
    # RFC 9126 6: authorization requests through /oidc/par only.
    require_par: bool = False

    @property
    def public(self) -> bool:
        return self.auth_method == "none"

    @property
    def sector(self) -> str:
        """The host the pairwise subject is computed for (OpenID Connect Core 8.1): every
        redirect URI of a client shares it (checked at registration)."""
        return urlsplit(self.redirect_uris[0]).hostname or ""


@dataclass(frozen=True)
class Grant:
    """An authorization code's grant: what the browser's session approved for the client."""

    code_hash: str
    grant_id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    nonce: str
    code_challenge: str
    account_id: str
    session_id: str
    level: int
    method: str | None
    auth_time: datetime
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True)
class RefreshToken:
    """A rotating refresh token: one family per authorization (``family_id`` = the grant's
    id); each use rotates it, a second use of one ends the family."""

    token_hash: str
    family_id: str
    client_id: str
    account_id: str
    subject: str
    scopes: tuple[str, ...]
    session_id: str
    level: int
    method: str | None
    auth_time: datetime
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AccessToken:
    token_hash: str
    grant_id: str
    client_id: str
    account_id: str
    subject: str
    scopes: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    # The dvcid session it was issued under: it ends with it (SessionRevoked).
    session_id: str | None = None


@dataclass(frozen=True)
class Consent:
    """What an account agreed to give a client (the scopes), remembered so the consent page
    is shown once per client and set of data: a request for more asks again."""

    account_id: str
    client_id: str
    scopes: tuple[str, ...]
    granted_at: datetime  # the first consent
    last_used_at: datetime  # the last code issued under it
