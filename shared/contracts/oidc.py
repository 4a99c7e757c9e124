"""The oidc service's endpoints (``dvcid.oidc.<endpoint>``): dvcid as an OpenID Provider
(docs/oidc.md).

The gateway hands over what came over HTTP (the authorization request's query, the token
request's form and ``Authorization`` header, the bearer token of userinfo) and the browser's
session as it knows it; every protocol rule is the service's. Errors carry the OAuth error code
(``invalid_request``, ``invalid_client``, ``invalid_grant``, ...) as their ``code``: the gateway
answers them as RFC 6749 JSON or, for an authorization request, a redirect.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictStr, StringConstraints

from shared.contracts.base import Contract, Empty, Rpc

# A protocol parameter as an RP sends it: bounded, any text (its meaning is the service's).
Param = Annotated[StrictStr, StringConstraints(max_length=2048)]
ClientName = Annotated[StrictStr, StringConstraints(min_length=1, max_length=200)]
RedirectUri = Annotated[StrictStr, StringConstraints(min_length=1, max_length=2048)]
Sha256Hex = Annotated[StrictStr, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Timestamp = str  # RFC 3339 (UTC)


def oauth_text(detail: str) -> str:
    """An ``error_description`` as RFC 6749 allows it (printable ASCII, no ``"`` or ``\\``):
    the Vietnamese text without its diacritics."""
    folded = unicodedata.normalize("NFKD", detail.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in folded if 0x20 <= ord(c) <= 0x7E and c not in '"\\')


class AuthorizationParameters(Contract):
    """The parameters of an authorization request but the client's (absent: None): the query of
    ``GET /oidc/authorize`` and the form of ``POST /oidc/par`` carry the same ones."""

    redirect_uri: Param | None = None
    response_type: Param | None = None
    scope: Param | None = None
    state: Param | None = None
    nonce: Param | None = None
    code_challenge: Param | None = None
    code_challenge_method: Param | None = None
    prompt: Param | None = None
    max_age: Param | None = None
    acr_values: Param | None = None
    response_mode: Param | None = None
    request: Param | None = None
    request_uri: Param | None = None


class AuthorizationRequest(AuthorizationParameters):
    """The query of ``GET /oidc/authorize``, parameter by parameter (absent: None)."""

    client_id: Param | None = None


class BrowserSession(Contract):
    """The browser's dvcid session as the gateway read it (its cookie, checked by profile):
    who, how strongly (``level``), by which login method, since when."""

    account_id: Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
    session_id: Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
    level: Annotated[int, Field(ge=1, le=3)]
    method: Annotated[StrictStr, StringConstraints(max_length=64)] | None = None
    authenticated_at: Timestamp


class Authorize(Contract):
    request: AuthorizationRequest
    # None: the browser has no live session (the service still checks the client first).
    session: BrowserSession | None = None
    # When this very request sent the browser to log in (the gateway's signed cookie): a
    # session made since then satisfies prompt=login and max_age.
    login_requested_at: Timestamp | None = None
    # The person's answer on the consent page (a CSRF-checked form bound to this request and
    # this browser's session, services/gateway/web/oidc_consent.py); None: not asked yet.
    consent: Literal["granted", "denied"] | None = None


class AuthorizationOutcome(Contract):
    """``redirect``: send the browser to ``redirect_to`` (the code, or an error, to the
    client's redirect URI); ``login``: the request is sound, the browser must log in first,
    at ``level`` at least (3: a SIM or USB signature, the client asked ``acr_values``);
    ``consent``: the person must first agree to give ``client_name`` the data of ``scopes``."""

    action: Literal["redirect", "login", "consent"]
    redirect_to: str | None = None
    level: int | None = None
    client_name: str | None = None
    scopes: list[str] | None = None
    # consent: the client's redirect URI the answer goes to (a pushed request's query has none).
    redirect_uri: str | None = None


class ClientAuthentication(Contract):
    """How a client authenticates at the token, introspection and revocation endpoints: the
    ``Authorization`` header and the form's client fields, as sent."""

    authorization: Annotated[StrictStr, StringConstraints(max_length=4096)] | None = None
    client_id: Param | None = None
    client_secret: Param | None = None
    client_assertion_type: Param | None = None
    client_assertion: Annotated[StrictStr, StringConstraints(max_length=8192)] | None = None


class TokenRequest(ClientAuthentication):
    """The form of ``POST /oidc/token`` and its ``Authorization`` header."""

    grant_type: Param | None = None
    code: Param | None = None
    redirect_uri: Param | None = None
    code_verifier: Param | None = None
    refresh_token: Param | None = None
    scope: Param | None = None


class TokenQuery(ClientAuthentication):
    """The form of ``POST /oidc/introspect`` (RFC 7662) and ``/oidc/revoke`` (RFC 7009)."""

    token: Annotated[StrictStr, StringConstraints(max_length=4096)] | None = None
    token_type_hint: Param | None = None


class PushedAuthorization(ClientAuthentication, AuthorizationParameters):
    """RFC 9126: the form of ``POST /oidc/par``: the authorization request's parameters (never
    ``request_uri``), the client authenticated as at the token endpoint."""


class PushedRequest(Contract):
    """RFC 9126 2.2: the ``request_uri`` standing for the pushed request, for ``expires_in``
    seconds, used once."""

    request_uri: str
    expires_in: int


class Introspection(Contract):
    """RFC 7662 2.2: ``active`` and, for an active token, what it is."""

    active: bool
    scope: str | None = None
    client_id: str | None = None
    token_type: str | None = None
    exp: int | None = None
    iat: int | None = None
    sub: str | None = None
    aud: str | None = None
    iss: str | None = None


class Tokens(Contract):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    id_token: str
    scope: str
    # Rotating: each use answers a new one and ends the old (used twice: the family ends).
    refresh_token: str | None = None


class UserinfoRequest(Contract):
    access_token: Annotated[StrictStr, StringConstraints(min_length=1, max_length=4096)]


class Claims(Contract):
    """The userinfo answer: ``sub`` and the claims of the token's scopes."""

    claims: dict[str, Any]


class Jwks(Contract):
    keys: list[dict[str, Any]]


class EndSession(Contract):
    """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the request's parameters
    and the browser's session, if any."""

    id_token_hint: Annotated[StrictStr, StringConstraints(max_length=8192)] | None = None
    client_id: Param | None = None
    post_logout_redirect_uri: Param | None = None
    state: Param | None = None
    session: BrowserSession | None = None


class LogoutOutcome(Contract):
    """``confirm``: ask the person before ending the session (no valid ``id_token_hint``
    naming this session's account); then end it and go to ``redirect_to`` (the client's
    registered post-logout URI with ``state``), or to dvcid's own page."""

    confirm: bool
    redirect_to: str | None = None
    client_name: str | None = None


class ProviderMetadata(Contract):
    """OpenID Connect Discovery 1.0 metadata, as the service's settings make it."""

    metadata: dict[str, Any]


# "Ứng dụng đã kết nối" (the account page; the gateway names the account of the browser's
# session): the portals an account agreed to give data to, and the revocation of one.

AccountId = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]


class ConnectedAppsOf(Contract):
    account_id: AccountId


class ConnectedApp(Contract):
    client_id: str
    name: str
    scopes: list[str]  # the data the account agreed to give (openid profile phone ...)
    first_used_at: Timestamp  # the first consent
    last_used_at: Timestamp  # the last code issued to it


class ConnectedApps(Contract):
    items: list[ConnectedApp]


class RevokeConsent(Contract):
    """Ends a consent: the client's access and refresh tokens for the account end with it."""

    account_id: AccountId
    client_id: Param


class ConsentRevoked(Contract):
    revoked: bool  # whether there was a consent to end


# Internal endpoints (the operator's tool, dvcid admin)


class ClientJwks(Contract):
    """A client's public keys as a JWK Set (its ``private_key_jwt`` assertions' keys)."""

    keys: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=10)]


class CreateClient(Contract):
    """A relying party registered by an operator, with exactly one way to authenticate at the
    token endpoint: ``private_key_jwt`` (its keys: ``jwks_uri`` or ``jwks``, preferred),
    ``client_secret_basic`` (the SHA-256, hex, of the secret the tool made and showed once),
    or none (``public``: PKCE only)."""

    name: ClientName
    redirect_uris: Annotated[list[RedirectUri], Field(min_length=1, max_length=10)]
    public: StrictBool = False
    secret_sha256: Sha256Hex | None = None
    jwks_uri: RedirectUri | None = None
    jwks: ClientJwks | None = None
    post_logout_redirect_uris: Annotated[list[RedirectUri], Field(max_length=10)] | None = None
    # OpenID Connect Back-Channel Logout 1.0: where dvcid POSTs a logout token when a session
    # the client signed in with ends.
    backchannel_logout_uri: RedirectUri | None = None
    # RFC 9126 6: the client's authorization requests come through /oidc/par only.
    require_pushed_authorization_requests: StrictBool = False


class ClientView(Contract):
    client_id: str
    name: str
    redirect_uris: list[str]
    token_endpoint_auth_method: str
    created_at: Timestamp
    post_logout_redirect_uris: list[str] | None = None
    backchannel_logout_uri: str | None = None
    require_pushed_authorization_requests: bool = False


class KeysRotated(Contract):
    kid: str  # the new signing key
    published: list[str]  # every kid the JWKS now publishes


METADATA = Rpc("oidc", "metadata", Empty, ProviderMetadata)
JWKS = Rpc("oidc", "jwks", Empty, Jwks)
AUTHORIZE = Rpc("oidc", "authorize", Authorize, AuthorizationOutcome)
TOKEN = Rpc("oidc", "token", TokenRequest, Tokens)
USERINFO = Rpc("oidc", "userinfo", UserinfoRequest, Claims)
END_SESSION = Rpc("oidc", "end_session", EndSession, LogoutOutcome)
INTROSPECT = Rpc("oidc", "introspect", TokenQuery, Introspection)
REVOKE = Rpc("oidc", "revoke", TokenQuery, Empty)
PAR = Rpc("oidc", "par", PushedAuthorization, PushedRequest)
CONNECTED_APPS = Rpc("oidc", "connected_apps", ConnectedAppsOf, ConnectedApps)
REVOKE_CONSENT = Rpc("oidc", "revoke_consent", RevokeConsent, ConsentRevoked)
ADMIN_CREATE_CLIENT = Rpc("oidc", "admin_create_client", CreateClient, ClientView)
ADMIN_ROTATE_KEYS = Rpc("oidc", "admin_rotate_keys", Empty, KeysRotated)
