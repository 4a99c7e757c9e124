"""VNeID's authorization server, made of Authlib's framework-agnostic parts: its
``AuthorizationServer`` with a request adapter for Starlette, the authorization code grant with
PKCE (S256 only, required of every client) and OpenID Connect (``nonce`` required), Bearer
access tokens and the userinfo endpoint. ID tokens are signed by joserfc (through Authlib) with
an RSA key made when first needed (in memory, per process) and published in the JWKS.

Codes and access tokens are kept (in memory: the sandbox keeps nothing) by their SHA-256, never
in clear; a code is taken out on its first presentation, so it is used once whatever happens.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from authlib.common.security import generate_token
from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidRequestError,
    OAuth2Payload,
    OAuth2Request,
    ResourceProtector,
    TokenMixin,
    grants,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin as OpenIDCodeMixin
from authlib.oidc.core import OpenIDCode, UserInfo, UserInfoEndpoint
from joserfc.jwk import KeySet, RSAKey
from starlette.datastructures import FormData, Headers, QueryParams

from sandbox.config import VneidClientSettings
from sandbox.world import VneidCitizen, World
from shared.clock import Clock

# VNeID level 2 (Decree 69/2024: the e-ID app activated in person, then the PIN): the ``acr``
# of every ID token of this provider, and ``pin`` (RFC 8176) its ``amr``.
ACR_LEVEL_2 = "urn:vneid:loa:level2"
AMR = ["pin"]
SIGNING_ALG = "RS256"
# The claims each scope releases; ``cccd`` is VNeID's own scope (the citizen's ID number).
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": ("name", "birthdate", "gender"),
    "phone": ("phone_number", "phone_number_verified"),
    "cccd": ("cccd",),
}
ID_TOKEN_SECONDS = 600


def digest(secret: str) -> str:
    """What is kept of a code or a token: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


# -- the models Authlib asks for -------------------------------------------------------------

@dataclass(frozen=True)
class Client(ClientMixin):
    settings: VneidClientSettings

    @property
    def client_id(self) -> str:
        return self.settings.client_id

    @property
    def name(self) -> str:
        return self.settings.name or self.settings.client_id

    def get_client_id(self) -> str:
        return self.settings.client_id

    def get_default_redirect_uri(self) -> str | None:
        # No default: the redirect_uri must be sent and match one registered exactly.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The known scopes asked for; None (``invalid_scope``) without ``openid``: this is an
        OpenID Provider, not a plain OAuth server."""
        asked = scope_to_list(scope or "") or []
        if "openid" not in asked:
            return None
        return " ".join(s for s in asked if s in SCOPE_CLAIMS)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.settings.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.settings.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass(frozen=True)
class IssuedCode(OpenIDCodeMixin):
    client_id: str
    redirect_uri: str
    scope: str
    id_number: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    auth_time: int
    expires_at: datetime

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str:
        return ACR_LEVEL_2

    def get_amr(self) -> list[str]:
        return list(AMR)


@dataclass(frozen=True)
class IssuedToken(TokenMixin):
    client: Client
    scope: str
    id_number: str
    expires_at: datetime
    clock: Clock = field(repr=False)

    def check_client(self, client: Client) -> bool:
        return client.get_client_id() == self.client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at - self.clock()).total_seconds()))

    def is_expired(self) -> bool:
        return self.clock() >= self.expires_at

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> str:
        return self.id_number

    def get_client(self) -> Client:
        return self.client


# -- the request adapter ---------------------------------------------------------------------

class _Payload(OAuth2Payload):
    """The parameters of a request: the query's, then the form's (as Flask's ``values``)."""

    def __init__(self, args: QueryParams, form: FormData) -> None:
        self._datalist: defaultdict[str, list[Any]] = defaultdict(list)
        for key, value in [*args.multi_items(), *form.multi_items()]:
            if isinstance(value, str):
                self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, Any]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[Any]]:
        return self._datalist


class StarletteRequest(OAuth2Request):
    """What Authlib reads of a Starlette request, its form read beforehand (Authlib is
    synchronous; every state it touches here is in memory)."""

    def __init__(self, method: str, url: str, headers: Headers, args: QueryParams,
                 form: FormData) -> None:
        super().__init__(method=method, uri=url, headers=headers)
        self._args = args
        self._form = form
        self.payload = _Payload(args, form)

    @property
    def args(self) -> QueryParams:
        return self._args

    @property
    def form(self) -> Mapping[str, Any]:
        return self._form


# -- grants and endpoints --------------------------------------------------------------------

class _Server(AuthorizationServer):
    def __init__(self, provider: VneidProvider) -> None:
        super().__init__(scopes_supported=list(SCOPE_CLAIMS))
        self.provider = provider

    def query_client(self, client_id: str) -> Client | None:
        return self.provider.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.provider.save_token(token, request)

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        # The routes build the adapter (they read the form asynchronously first).
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]
                        ) -> tuple[int, Any, list[tuple[str, str]]]:
        # The routes turn this into a Starlette response.
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


class _CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    @property
    def provider(self) -> VneidProvider:
        provider: VneidProvider = self.server.provider
        return provider

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        self.provider.save_code(code, request)

    def query_authorization_code(self, code: str, client: Client) -> IssuedCode | None:
        return self.provider.take_code(code, client)

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        pass  # already taken out by query_authorization_code

    def authenticate_user(self, authorization_code: IssuedCode) -> VneidCitizen | None:
        return self.provider.world.vneid_citizen(authorization_code.id_number)


class _S256Required(CodeChallenge):
    """PKCE for every client, confidential ones too, and only S256 (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: grants.AuthorizationCodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE (S256) is required.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class _OpenIDCode(OpenIDCode):
    def __init__(self, provider: VneidProvider) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return (request.payload.client_id, nonce) in self.provider.nonces

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.provider.signing_key

    def get_client_algorithm(self, client: Client) -> str:
        return SIGNING_ALG

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": SIGNING_ALG, "kid": self.provider.signing_key.kid or ""}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(self.provider.clock().timestamp())
        return {"iss": self.provider.issuer, "aud": [client.get_client_id()], "iat": now,
                "exp": now + ID_TOKEN_SECONDS}

    def generate_user_info(self, user: VneidCitizen, scope: str) -> UserInfo:
        return user_info(user, scope)


class _UserInfo(UserInfoEndpoint):
    def __call__(self, request: OAuth2Request) -> tuple[int, Any, list[tuple[str, str]]]:
        # Authlib's own reads the token through a framework's request global; the same check
        # (a valid Bearer token with the openid scope) on the request at hand.
        token: IssuedToken = self.resource_protector.validate_request(["openid"], request)
        citizen = self.server.provider.world.vneid_citizen(token.id_number)
        if citizen is None:
            raise InvalidRequestError("The citizen of this token is gone.")
        return 200, user_info(citizen, token.scope), default_json_headers


class _BearerTokens(BearerTokenValidator):
    def __init__(self, provider: VneidProvider) -> None:
        super().__init__()
        self.provider = provider

    def authenticate_token(self, token_string: str) -> IssuedToken | None:
        return self.provider.tokens.get(digest(token_string))


def user_info(citizen: VneidCitizen, scope: str) -> UserInfo:
    """The claims of ``citizen`` that ``scope`` releases."""
    claims: dict[str, Any] = {
        "sub": citizen.subject,
        "name": citizen.full_name,
        "birthdate": citizen.birth_date.isoformat(),
        "gender": citizen.sex,
        "phone_number": citizen.phone,
        "phone_number_verified": citizen.phone is not None,
        "cccd": citizen.id_number,
    }
    released = {claim for s in scope_to_list(scope) or [] for claim in SCOPE_CLAIMS.get(s, ())}
    return UserInfo({k: v for k, v in claims.items() if k in released and v is not None})


# -- the provider ----------------------------------------------------------------------------

@dataclass
class VneidProvider:
    """The state of the provider (clients, signing key, codes, tokens) and its Authlib server."""

    issuer: str
    world: World
    clock: Clock
    clients: dict[str, Client]
    code_lifetime: timedelta
    token_lifetime: timedelta
    _signing_key: RSAKey | None = field(default=None, repr=False)
    codes: dict[str, IssuedCode] = field(default_factory=dict)
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    nonces: set[tuple[str, str]] = field(default_factory=set)
    server: _Server = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.server = _Server(self)
        self.server.register_token_generator("default", BearerTokenGenerator(
            access_token_generator=lambda **_: generate_token(42),
            expires_generator=lambda client, grant_type: int(self.token_lifetime.total_seconds())))
        self.server.register_grant(_CodeGrant, [_S256Required(required=True), _OpenIDCode(self)])
        protector = ResourceProtector()
        protector.register_token_validator(_BearerTokens(self))
        self.server.register_endpoint(_UserInfo(resource_protector=protector))

    @classmethod
    def create(cls, issuer: str, world: World, clock: Clock,
               clients: tuple[VneidClientSettings, ...], code_seconds: int,
               token_seconds: int) -> VneidProvider:
        return cls(issuer=issuer, world=world, clock=clock,
                   clients={c.client_id: Client(c) for c in clients},
                   code_lifetime=timedelta(seconds=code_seconds),
                   token_lifetime=timedelta(seconds=token_seconds))

    @property
    def signing_key(self) -> RSAKey:
        """The RSA key of the ID tokens, made on first use (not by every sandbox made in tests)."""
        if self._signing_key is None:
            self._signing_key = RSAKey.generate_key(
                2048, parameters={"use": "sig", "alg": SIGNING_ALG}, private=True, auto_kid=True)
        return self._signing_key

    def jwks(self) -> dict[str, Any]:
        """The public signing keys."""
        return dict(KeySet([self.signing_key]).as_dict(private=False))

    def metadata(self) -> dict[str, Any]:
        """The discovery document (OpenID Connect Discovery 1.0 §3)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks.json",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [SIGNING_ALG],
            "scopes_supported": list(SCOPE_CLAIMS),
            "claims_supported": sorted({c for cs in SCOPE_CLAIMS.values() for c in cs}
                                       | {"iss", "aud", "exp", "iat", "auth_time", "nonce",
                                          "acr", "amr", "at_hash"}),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "acr_values_supported": [ACR_LEVEL_2],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "ui_locales_supported": ["vi"],
        }

    # the grants' storage
    def save_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        citizen: VneidCitizen = request.user
        now = self.clock()
        self.codes[digest(code)] = IssuedCode(
            client_id=request.client.get_client_id(), redirect_uri=request.payload.redirect_uri,
            scope=request.scope, id_number=citizen.id_number, nonce=data.get("nonce"),
            code_challenge=data["code_challenge"], code_challenge_method=data["code_challenge_method"],
            auth_time=int(now.timestamp()), expires_at=now + self.code_lifetime)
        if data.get("nonce"):
            self.nonces.add((request.client.get_client_id(), data["nonce"]))

    def take_code(self, code: str, client: Client) -> IssuedCode | None:
        """The code's grant, taken out (a code is used once, even when the exchange fails), or
        None when unknown, expired or issued to another client."""
        issued = self.codes.pop(digest(code), None)
        if issued is None or issued.client_id != client.get_client_id() \
                or self.clock() >= issued.expires_at:
            return None
        return issued

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        citizen: VneidCitizen = request.user
        self.tokens[digest(token["access_token"])] = IssuedToken(
            client=request.client, scope=token.get("scope", ""), id_number=citizen.id_number,
            expires_at=self.clock() + timedelta(seconds=token["expires_in"]), clock=self.clock)

    # the endpoints (each answers Authlib's (status, body, headers))
    def validate_authorization(self, request: StarletteRequest) -> grants.AuthorizationCodeGrant:
        """The grant of a valid authorization request; raises Authlib's ``OAuth2Error`` (with
        ``redirect_uri`` set when the client may be told by redirection)."""
        grant: grants.AuthorizationCodeGrant = self.server.get_consent_grant(request)
        return grant

    def authorize(self, request: StarletteRequest, grant: grants.AuthorizationCodeGrant,
                  citizen: VneidCitizen | None) -> tuple[int, Any, list[tuple[str, str]]]:
        """The redirection back to the client: a code for ``citizen``, or ``access_denied``."""
        answer: tuple[int, Any, list[tuple[str, str]]] = self.server.create_authorization_response(
            request, grant_user=citizen, grant=grant)
        return answer

    def token(self, request: StarletteRequest) -> tuple[int, Any, list[tuple[str, str]]]:
        answer: tuple[int, Any, list[tuple[str, str]]] = self.server.create_token_response(request)
        return answer

    def userinfo(self, request: StarletteRequest) -> tuple[int, Any, list[tuple[str, str]]]:
        answer: tuple[int, Any, list[tuple[str, str]]] = self.server.create_endpoint_response(
            "userinfo", request)
        return answer

