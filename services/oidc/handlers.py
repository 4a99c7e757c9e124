"""The OpenID Provider's use cases: authorization, token, userinfo, discovery, JWKS, and the
operator's clients and key rotation (docs/oidc.md).

The grant logic is ours (async, one atomic update per race); the protocol pieces are Authlib's
(PKCE S256, HTTP Basic client credentials, ``at_hash``) and every JOSE operation is joserfc's.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode, urlsplit, urlunsplit

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN, compare_s256_code_challenge
from authlib.oidc.core.util import create_half_hash
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from services.oidc.consent_handlers import ConsentCases
from services.oidc.domain.errors import (
    InvalidClient,
    InvalidClientMetadata,
    InvalidGrant,
    InvalidRedirectUri,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    Redirected,
    UnsupportedGrantType,
    UnsupportedTokenType,
)
from services.oidc.domain.models import AccessToken, AuthMethod, Client, Grant, RefreshToken
from services.oidc.domain.ports import (
    AccessTokens,
    AssertionIds,
    ClientGrants,
    ClientKeys,
    Clients,
    Consents,
    Grants,
    LogoutNotifier,
    Profile,
    PushedRequests,
    RefreshTokens,
    SessionClients,
    SigningKeys,
)
from services.oidc.domain.rules import (
    ACR_BY_LEVEL,
    CLAIMS_BY_SCOPE,
    CODE_TTL,
    SCOPES,
    acr_of,
    amr_of,
    check_authorization,
    check_public_jwks,
    check_redirect_uris,
    claims_for,
    client_auth_method,
    client_uses_redirect,
    code_expired,
    epoch,
    login_needed,
)
from services.oidc.pushed import PushedAuthorizations
from shared.clock import Clock
from shared.contracts.base import Empty
from shared.contracts.oidc import (
    AuthorizationOutcome,
    Authorize,
    Claims,
    ClientAuthentication,
    ClientView,
    CreateClient,
    EndSession,
    Introspection,
    Jwks,
    KeysRotated,
    LogoutOutcome,
    ProviderMetadata,
    TokenQuery,
    TokenRequest,
    Tokens,
    UserinfoRequest,
    oauth_text,
)
from shared.crypto import keyed_hash, new_token, same
from shared.events import Envelope, SessionRevoked
from shared.logging import get_logger

log = get_logger(__name__)
SIGNING_ALG = "ES256"
SESSION_REVOKED_CONSUMER = "oidc-session-revoked"
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL = timedelta(minutes=2)
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# What a client may sign its private_key_jwt assertion with (asymmetric only).
ASSERTION_ALGS = ["ES256", "ES384", "RS256", "PS256", "EdDSA"]
# How far an assertion's exp may lie ahead (its jti is remembered until then): RP libraries
# sign for an hour (Authlib's default), a little clock skew allowed.
ASSERTION_MAX_LIFETIME = timedelta(minutes=65)


@dataclass(frozen=True)
class Issue:
    """What a token response is issued for: a code's grant, or a refresh token's family."""

    family_id: str
    account_id: str
    session_id: str
    level: int
    method: str | None
    auth_time: datetime
    scopes: tuple[str, ...]
    nonce: str | None
    refresh_expires_at: datetime


@dataclass(frozen=True)
class OidcPolicy:
    issuer: str
    secret: str  # HMAC key: codes, access tokens, pairwise subjects
    access_token_ttl: timedelta = timedelta(minutes=10)
    id_token_ttl: timedelta = timedelta(minutes=10)
    # A refresh token family's whole life (rotation never extends it); it also ends with the
    # dvcid session (SessionRevoked).
    refresh_token_ttl: timedelta = timedelta(hours=8)

    def url(self, path: str) -> str:
        return f"{self.issuer.rstrip('/')}{path}"


class OidcService(ConsentCases, PushedAuthorizations):
    def __init__(self, *, clients: Clients, grants: Grants, tokens: AccessTokens,
                 keys: SigningKeys, profile: Profile, clock: Clock, policy: OidcPolicy,
                 client_keys: ClientKeys, assertion_ids: AssertionIds,
                 session_clients: SessionClients, notifier: LogoutNotifier,
                 refresh_tokens: RefreshTokens, consents: Consents,
                 client_grants: ClientGrants,
                 pushed_requests: PushedRequests | None = None) -> None:
        self._clients = clients
        self._grants = grants
        self._tokens = tokens
        self._keys = keys
        self._profile = profile
        self._clock = clock
        self._policy = policy
        self._client_keys = client_keys
        self._assertion_ids = assertion_ids
        self._session_clients = session_clients
        self._notifier = notifier
        self._refresh = refresh_tokens
        self._pushed = pushed_requests  # RFC 9126 (pushed.py); None: PAR refused
        self._consents = consents
        self._client_grants = client_grants

    # -- discovery ----------------------------------------------------------------------------
    async def metadata(self, _: Empty) -> ProviderMetadata:
        p = self._policy
        return ProviderMetadata(metadata={
            "issuer": p.issuer,
            "authorization_endpoint": p.url("/oidc/authorize"),
            "token_endpoint": p.url("/oidc/token"),
            "userinfo_endpoint": p.url("/oidc/userinfo"),
            "jwks_uri": p.url("/oidc/jwks"),
            "end_session_endpoint": p.url("/oidc/logout"),
            "introspection_endpoint": p.url("/oidc/introspect"),
            "revocation_endpoint": p.url("/oidc/revoke"),
            "pushed_authorization_request_endpoint": p.url("/oidc/par"),
            "require_pushed_authorization_requests": False,
            "introspection_endpoint_auth_methods_supported": ["private_key_jwt",
                                                              "client_secret_basic", "none"],
            "revocation_endpoint_auth_methods_supported": ["private_key_jwt",
                                                           "client_secret_basic", "none"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": [SIGNING_ALG],
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic",
                                                      "none"],
            "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": list(SCOPES),
            "claims_supported": sorted({"iss", "aud", "exp", "iat", "auth_time", "nonce", "acr",
                                        "amr", "azp", "at_hash", "sid"}
                                       | {c for names in CLAIMS_BY_SCOPE.values() for c in names}),
            "acr_values_supported": list(ACR_BY_LEVEL.values()),
            "authorization_response_iss_parameter_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "claims_parameter_supported": False,
            "ui_locales_supported": ["vi"],
        })

    async def jwks(self, _: Empty) -> Jwks:
        return Jwks(keys=await self._keys.published(self._clock()))

    # -- authorization endpoint ---------------------------------------------------------------
    async def authorize(self, request: Authorize) -> AuthorizationOutcome:
        """The client and its exact redirect URI first (wrong: an error raised, never a
        redirect); then the request's rules (wrong: the error to the redirect URI); no
        session: log in first; else a code."""
        r = request.request
        if not r.client_id:
            raise InvalidRequest("Thiếu client_id.")
        client = await self._clients.get(r.client_id)
        if client is None:
            raise InvalidClient("Ứng dụng (client_id) không được đăng ký.")
        # RFC 9126 4: a request_uri stands for the pushed request (other parameters ignored).
        r, pushed = await self._pushed_request(client, r, self._clock())
        if not client_uses_redirect(client, r.redirect_uri):
            raise InvalidRedirectUri()
        assert r.redirect_uri is not None
        try:
            params = check_authorization(
                response_type=r.response_type, scope=r.scope, state=r.state, nonce=r.nonce,
                code_challenge=r.code_challenge, code_challenge_method=r.code_challenge_method,
                prompt=r.prompt, response_mode=r.response_mode, request=r.request,
                request_uri=r.request_uri, max_age=r.max_age, acr_values=r.acr_values)
        except Redirected as refused:
            return self._back(r.redirect_uri, r.state, error=refused.code,
                              error_description=oauth_text(refused.detail))
        session = request.session
        now = self._clock()
        asked_at = (datetime.fromisoformat(request.login_requested_at)
                    if request.login_requested_at else None)
        if session is None or login_needed(
                params, authenticated_at=datetime.fromisoformat(session.authenticated_at),
                now=now, login_requested_at=asked_at, level=session.level):
            if "none" in params.prompt:
                return self._back(r.redirect_uri, params.state, error="login_required",
                                  error_description=oauth_text("Cần đăng nhập."))
            if (session is not None and asked_at is not None
                    and datetime.fromisoformat(session.authenticated_at) >= asked_at):
                # Logged in as asked, still below the level the client requires.
                return self._back(r.redirect_uri, params.state,
                                  error="unmet_authentication_requirements",
                                  error_description=oauth_text(
                                      "Cổng dịch vụ công yêu cầu đăng nhập bằng chữ ký số."))
            await self._hold_pushed(pushed, now)
            return AuthorizationOutcome(action="login", level=params.level)
        consented = await self._consent(client, session.account_id, params, request.consent,
                                        r.redirect_uri, now)
        if consented is not None:  # the consent page, or a refusal to the redirect URI
            await self._hold_pushed(pushed, now)
            if consented.action == "consent":
                consented = consented.model_copy(update={"redirect_uri": r.redirect_uri})
            return consented
        await self._spend_pushed(pushed, now)
        code = new_token()
        await self._grants.add(Grant(
            code_hash=self._hash(code), grant_id=secrets.token_hex(16), client_id=client.client_id,
            redirect_uri=r.redirect_uri, scopes=params.scopes, nonce=params.nonce,
            code_challenge=params.code_challenge, account_id=session.account_id,
            session_id=session.session_id, level=session.level, method=session.method,
            auth_time=datetime.fromisoformat(session.authenticated_at), created_at=now,
            expires_at=now + CODE_TTL))
        log.info("authorization code issued", client_id=client.client_id, level=session.level)
        return self._back(r.redirect_uri, params.state, code=code)

    def _back(self, redirect_uri: str, state: str | None, **params: str) -> AuthorizationOutcome:
        answer = dict(params)
        if state:
            answer["state"] = state
        answer["iss"] = self._policy.issuer  # RFC 9207
        parts = urlsplit(redirect_uri)
        query = "&".join(q for q in (parts.query, urlencode(answer)) if q)
        return AuthorizationOutcome(action="redirect", redirect_to=urlunsplit(parts._replace(query=query)))

    # -- token endpoint -----------------------------------------------------------------------
    async def token(self, request: TokenRequest) -> Tokens:
        client = await self._authenticate_client(request)
        if not request.grant_type:
            raise InvalidRequest("Thiếu grant_type.")
        if request.grant_type == "authorization_code":
            return await self._code_grant(client, request)
        if request.grant_type == "refresh_token":
            return await self._refresh_grant(client, request)
        raise UnsupportedGrantType()

    async def _code_grant(self, client: Client, request: TokenRequest) -> Tokens:
        if not request.code:
            raise InvalidRequest("Thiếu code.")
        now = self._clock()
        grant, first_use = await self._grants.consume(self._hash(request.code), now)
        if grant is None or grant.client_id != client.client_id:
            raise InvalidGrant()
        if not first_use:
            # RFC 6749 4.1.2: a code used twice is an attack; what it issued is revoked.
            revoked = await self._end_family(grant.grant_id, now)
            log.warning("authorization code reused", client_id=client.client_id, revoked=revoked)
            raise InvalidGrant()
        if code_expired(grant.expires_at, now):
            raise InvalidGrant("Mã cấp quyền đã hết hạn.")
        if request.redirect_uri != grant.redirect_uri:
            raise InvalidGrant("redirect_uri không khớp với yêu cầu cấp quyền.")
        verifier = request.code_verifier
        if not verifier or not CODE_VERIFIER_PATTERN.match(verifier):
            raise InvalidGrant("Thiếu hoặc sai code_verifier.")
        if not compare_s256_code_challenge(verifier, grant.code_challenge):
            raise InvalidGrant("code_verifier không khớp.")
        return await self._issue(client, Issue(
            family_id=grant.grant_id, account_id=grant.account_id, session_id=grant.session_id,
            level=grant.level, method=grant.method, auth_time=grant.auth_time,
            scopes=grant.scopes, nonce=grant.nonce,
            refresh_expires_at=now + self._policy.refresh_token_ttl), now)

    async def _refresh_grant(self, client: Client, request: TokenRequest) -> Tokens:
        """Rotation (OAuth 2.0 Security BCP 4.14): the token is used once and answered with a
        new one of the same family, never longer-lived than the first; a token used twice
        ends its family (refresh and access tokens), the client's and an attacker's alike."""
        if not request.refresh_token:
            raise InvalidRequest("Thiếu refresh_token.")
        now = self._clock()
        token_hash = self._hash(request.refresh_token)
        # What cannot be the client's mistake is checked before the token is spent: another
        # client's token, or too wide a scope, leaves it usable by its owner.
        found = await self._refresh.get(token_hash)
        if found is None or found.client_id != client.client_id:
            raise InvalidGrant("refresh_token không hợp lệ.")
        scopes = found.scopes
        if request.scope is not None:
            asked = set(request.scope.split())
            if not asked <= set(found.scopes) or "openid" not in asked:
                raise InvalidScope()
            scopes = tuple(s for s in found.scopes if s in asked)
        if (found.used_at is None and found.revoked_at is None
                and not await self._profile.session_alive(found.account_id, found.session_id)):
            # The dvcid session it came from ended (idle or absolute expiry sends no
            # SessionRevoked): the family ends with it.
            revoked = await self._end_family(found.family_id, now)
            log.info("refresh refused: its session ended", client_id=client.client_id,
                     revoked=revoked)
            raise InvalidGrant("Phiên đăng nhập đã kết thúc.")
        used, first_use = await self._refresh.use(token_hash, now)
        if used is None:  # gone since (its retention ended)
            raise InvalidGrant("refresh_token không hợp lệ.")
        if not first_use:
            revoked = await self._end_family(used.family_id, now)
            log.warning("refresh token reused", client_id=client.client_id, revoked=revoked)
            raise InvalidGrant("refresh_token đã được dùng.")
        if used.revoked_at is not None or now >= used.expires_at:
            raise InvalidGrant("refresh_token đã hết hiệu lực.")
        return await self._issue(client, Issue(
            family_id=used.family_id, account_id=used.account_id, session_id=used.session_id,
            level=used.level, method=used.method, auth_time=used.auth_time, scopes=scopes,
            nonce=None, refresh_expires_at=used.expires_at), now)

    async def _end_family(self, family_id: str, now: datetime) -> int:
        return (await self._tokens.revoke_grant(family_id, now)
                + await self._refresh.revoke_family(family_id, now))

    async def _issue(self, client: Client, issue: Issue, now: datetime) -> Tokens:
        """An access token, a refresh token of the family and an ID token (ES256)."""
        p = self._policy
        access_token, refresh_token = new_token(), new_token()
        subject = self.subject(client, issue.account_id)
        await self._tokens.add(AccessToken(
            token_hash=self._hash(access_token), grant_id=issue.family_id,
            client_id=client.client_id, account_id=issue.account_id, subject=subject,
            scopes=issue.scopes, issued_at=now, expires_at=now + p.access_token_ttl,
            session_id=issue.session_id))
        await self._refresh.add(RefreshToken(
            token_hash=self._hash(refresh_token), family_id=issue.family_id,
            client_id=client.client_id, account_id=issue.account_id, subject=subject,
            scopes=issue.scopes, session_id=issue.session_id, level=issue.level,
            method=issue.method, auth_time=issue.auth_time, issued_at=now,
            expires_at=issue.refresh_expires_at))
        kid, key = await self._keys.current(now)
        claims: dict[str, Any] = {
            "iss": p.issuer, "sub": subject, "aud": client.client_id, "azp": client.client_id,
            "iat": epoch(now), "exp": epoch(now + p.id_token_ttl),
            "auth_time": epoch(issue.auth_time),
            "acr": acr_of(issue.level), "amr": amr_of(issue.method),
            "at_hash": create_half_hash(access_token, SIGNING_ALG).decode(),
            "sid": self.sid(issue.session_id),
        }
        if issue.nonce is not None:  # the authentication's; not repeated on a refresh
            claims["nonce"] = issue.nonce
        id_token = jwt.encode({"alg": SIGNING_ALG, "kid": kid, "typ": "JWT"}, claims, key,
                              algorithms=[SIGNING_ALG])
        # Which clients this dvcid session signed in to: each is told when it ends.
        await self._session_clients.add(issue.session_id, client.client_id, subject, now)
        log.info("tokens issued", client_id=client.client_id, level=issue.level)
        return Tokens(access_token=access_token, token_type="Bearer",
                      expires_in=int(p.access_token_ttl.total_seconds()), id_token=id_token,
                      scope=" ".join(issue.scopes), refresh_token=refresh_token)

    async def _authenticate_client(self, request: ClientAuthentication) -> Client:
        """private_key_jwt, client_secret_basic, or ``none`` for a public client (PKCE is its
        proof): the one method the client was registered with."""
        if request.client_assertion or request.client_assertion_type:
            return await self._assertion_client(request)
        if request.client_secret is not None:
            raise InvalidClient("Không hỗ trợ client_secret_post: dùng HTTP Basic.")
        basic_id, basic_secret = (extract_basic_authorization({"Authorization": request.authorization})
                                  if request.authorization else (None, None))
        if basic_id:
            client = await self._clients.get(basic_id)
            presented = hashlib.sha256((basic_secret or "").encode()).hexdigest()
            if (client is None or client.auth_method != "client_secret_basic"
                    or not client.secret_sha256 or not same(presented, client.secret_sha256)):
                raise InvalidClient()
            if request.client_id and request.client_id != client.client_id:
                raise InvalidRequest("client_id không khớp với thông tin xác thực.")
            return client
        if not request.client_id:
            raise InvalidClient("Thiếu thông tin xác thực ứng dụng.")
        client = await self._clients.get(request.client_id)
        if client is None or not client.public:
            raise InvalidClient()
        return client

    async def _assertion_client(self, request: ClientAuthentication) -> Client:
        """RFC 7523 2.2 / OpenID Connect Core 9: a JWT the client signed with a key of its
        JWK Set: iss = sub = client_id, aud = the token endpoint (or the issuer), exp, a jti
        never seen before."""
        if request.client_assertion_type != JWT_BEARER or not request.client_assertion:
            raise InvalidClient("client_assertion_type phải là jwt-bearer.")
        if request.authorization or request.client_secret is not None:
            raise InvalidRequest("Chỉ dùng một cách xác thực ứng dụng.")
        assertion = request.client_assertion
        try:  # which client says it signed it (verified below with that client's keys)
            claimed = json.loads(jws.extract_compact(assertion.encode()).payload)
        except (JoseError, ValueError, UnicodeDecodeError):
            raise InvalidClient("client_assertion không đọc được.") from None
        client_id = claimed.get("sub") if isinstance(claimed, dict) else None
        if not isinstance(client_id, str) or (request.client_id and request.client_id != client_id):
            raise InvalidClient()
        client = await self._clients.get(client_id)
        if client is None or client.auth_method != "private_key_jwt":
            raise InvalidClient()
        keys = await self._client_keys.keyset(client)
        now = self._clock()
        try:
            token = jwt.decode(assertion, keys, algorithms=ASSERTION_ALGS)
            JWTClaimsRegistry(
                now=epoch(now), leeway=30,
                iss={"essential": True, "value": client_id},
                sub={"essential": True, "value": client_id},
                aud={"essential": True, "values": [
                    self._policy.url("/oidc/token"), self._policy.url("/oidc/introspect"),
                    self._policy.url("/oidc/revoke"), self._policy.issuer]},
                exp={"essential": True}, jti={"essential": True}).validate(token.claims)
        except (JoseError, ValueError):
            raise InvalidClient("client_assertion không hợp lệ.") from None
        expires = datetime.fromtimestamp(int(token.claims["exp"]), now.tzinfo)
        if expires > now + ASSERTION_MAX_LIFETIME:
            raise InvalidClient("client_assertion có hạn quá dài.")
        if not await self._assertion_ids.first_use(client_id, str(token.claims["jti"]), expires):
            raise InvalidClient("client_assertion đã được dùng.")
        return client

    # -- introspection (RFC 7662) and revocation (RFC 7009) --------------------------------------
    async def introspect(self, request: TokenQuery) -> Introspection:
        """A client learns about its own access tokens only: another client's token, like an
        unknown, expired or revoked one, is ``{active: false}``."""
        client = await self._authenticate_client(request)
        if not request.token:
            raise InvalidRequest("Thiếu token.")
        token_hash = self._hash(request.token)
        token = await self._tokens.get(token_hash)
        now = self._clock()
        if token is None:
            refresh = await self._refresh.get(token_hash)
            if (refresh is None or refresh.client_id != client.client_id
                    or refresh.used_at is not None or refresh.revoked_at is not None
                    or now >= refresh.expires_at):
                return Introspection(active=False)
            return Introspection(active=True, scope=" ".join(refresh.scopes),
                                 client_id=refresh.client_id, token_type="refresh_token",
                                 exp=epoch(refresh.expires_at), iat=epoch(refresh.issued_at),
                                 sub=refresh.subject, aud=refresh.client_id,
                                 iss=self._policy.issuer)
        if (token.client_id != client.client_id or token.revoked_at is not None
                or now >= token.expires_at):
            return Introspection(active=False)
        return Introspection(active=True, scope=" ".join(token.scopes), client_id=token.client_id,
                             token_type="Bearer", exp=epoch(token.expires_at),
                             iat=epoch(token.issued_at), sub=token.subject,
                             aud=token.client_id, iss=self._policy.issuer)

    async def revoke(self, request: TokenQuery) -> Empty:
        """RFC 7009: the client's own token ends; any other token is left alone, and the
        answer is the same (200) whatever the token was."""
        client = await self._authenticate_client(request)
        if not request.token:
            raise InvalidRequest("Thiếu token.")
        if request.token_type_hint not in (None, "access_token", "refresh_token"):
            raise UnsupportedTokenType()
        token_hash = self._hash(request.token)
        now = self._clock()
        token = await self._tokens.get(token_hash)
        if (token is not None and token.client_id == client.client_id
                and await self._tokens.revoke(token_hash, now)):
            log.info("access token revoked by its client", client_id=client.client_id)
        refresh = None if token is not None else await self._refresh.get(token_hash)
        if refresh is not None and refresh.client_id == client.client_id:
            # RFC 7009 2.1: a refresh token ends with the access tokens of its grant.
            ended = await self._end_family(refresh.family_id, now)
            log.info("refresh token family revoked by its client", client_id=client.client_id,
                     revoked=ended)
        return Empty()

    # -- userinfo -----------------------------------------------------------------------------
    async def userinfo(self, request: UserinfoRequest) -> Claims:
        token = await self._tokens.get(self._hash(request.access_token))
        now = self._clock()
        if token is None or token.revoked_at is not None or now >= token.expires_at:
            raise InvalidToken()
        subject = await self._profile.claims(token.account_id)
        if subject is None:
            raise InvalidToken()
        return Claims(claims={"sub": token.subject} | claims_for(token.scopes, subject))

    # -- the dvcid session ended ---------------------------------------------------------------
    async def on_session_revoked(self, event: Envelope) -> None:
        """SessionRevoked (a logout, a session ended from the account page, a password change,
        a disabled agent): the access tokens issued under it are revoked and its unused codes
        voided. Idempotent by nature (a redelivery finds nothing left to revoke), so no
        processed-event record is needed."""
        ended: SessionRevoked = event.parse(SessionRevoked)
        now = self._clock()
        tokens = (await self._tokens.revoke_session(ended.session_id, now)
                  + await self._refresh.revoke_session(ended.session_id, now))
        codes = await self._grants.void_session(ended.session_id, now)
        if tokens or codes:
            log.info("session ended: its tokens revoked", revoked=tokens, voided_codes=codes,
                     reason=ended.reason)
        signed_in = await self._session_clients.take(ended.session_id)
        await asyncio.gather(*(self._tell_logout(client_id, subject, ended.session_id, now)
                               for client_id, subject in signed_in))

    async def _tell_logout(self, client_id: str, subject: str, session_id: str | None,
                           now: datetime) -> None:
        """Back-channel logout (OpenID Connect Back-Channel Logout 1.0): a logout token, signed
        as the ID tokens are, POSTed to the client's registered URI. Without a session (a
        consent revoked): ``sub`` alone, every session of that account at the client."""
        client = await self._clients.get(client_id)
        if client is None or client.backchannel_logout_uri is None:
            return
        kid, key = await self._keys.current(now)
        claims: dict[str, Any] = {"iss": self._policy.issuer, "aud": client_id, "iat": epoch(now),
                  "exp": epoch(now + LOGOUT_TOKEN_TTL), "jti": secrets.token_urlsafe(16),
                  "sub": subject, "events": {BACKCHANNEL_LOGOUT_EVENT: {}}}
        if session_id is not None:
            claims["sid"] = self.sid(session_id)
        token = jwt.encode({"alg": SIGNING_ALG, "kid": kid, "typ": "logout+jwt"}, claims, key,
                           algorithms=[SIGNING_ALG])
        delivered = await self._notifier.send(client.backchannel_logout_uri, token)
        if delivered:
            log.info("back-channel logout delivered", client_id=client_id)
        else:
            log.warning("back-channel logout not delivered", client_id=client_id)

    # -- RP-initiated logout -------------------------------------------------------------------
    async def end_session(self, request: EndSession) -> LogoutOutcome:
        """Which client asks (the ``id_token_hint`` it was given, or its ``client_id``), where
        the browser may go afterwards (a registered URI only, never another), and whether the
        person must confirm (no hint naming this browser's account: a third party's link)."""
        hint = await self._verified_hint(request.id_token_hint) if request.id_token_hint else None
        client_id = request.client_id
        if hint is not None:
            audience = hint.get("aud")
            hinted = audience[0] if isinstance(audience, list) and audience else audience
            if not isinstance(hinted, str) or (client_id and client_id != hinted):
                raise InvalidRequest("id_token_hint không dành cho ứng dụng này.")
            client_id = hinted
        client = await self._clients.get(client_id) if client_id else None
        if client_id and client is None:
            raise InvalidClient("Ứng dụng (client_id) không được đăng ký.")
        redirect_to = None
        if request.post_logout_redirect_uri is not None:
            if client is None or request.post_logout_redirect_uri not in client.post_logout_redirect_uris:
                raise InvalidRequest("post_logout_redirect_uri không được đăng ký cho ứng dụng.")
            parts = urlsplit(request.post_logout_redirect_uri)
            extra = urlencode({"state": request.state}) if request.state else ""
            query = "&".join(q for q in (parts.query, extra) if q)
            redirect_to = urlunsplit(parts._replace(query=query))
        session = request.session
        named = (hint is not None and session is not None and client is not None
                 and hint.get("sub") == self.subject(client, session.account_id))
        return LogoutOutcome(confirm=session is not None and not named, redirect_to=redirect_to,
                             client_name=client.name if client else None)

    async def _verified_hint(self, id_token: str) -> dict[str, Any]:
        """An ID token this provider signed (its expiry does not matter here)."""
        published = await self._keys.published(self._clock())
        try:
            keys = KeySet.import_key_set(cast(Any, {"keys": published}))
            claims = jwt.decode(id_token, keys, algorithms=[SIGNING_ALG]).claims
        except (JoseError, ValueError):
            raise InvalidRequest("id_token_hint không hợp lệ.") from None
        if claims.get("iss") != self._policy.issuer:
            raise InvalidRequest("id_token_hint không do Cổng phát hành.")
        return dict(claims)

    # -- the operator's -----------------------------------------------------------------------
    async def create_client(self, request: CreateClient) -> ClientView:
        redirect_uris = check_redirect_uris(request.redirect_uris)
        if request.jwks_uri is not None and request.jwks is not None:
            raise InvalidClientMetadata("Chỉ một trong jwks_uri và jwks.")
        method = cast(AuthMethod, client_auth_method(
            public=request.public, secret=request.secret_sha256 is not None,
            keys=request.jwks_uri is not None or request.jwks is not None))
        jwks = request.jwks.model_dump() if request.jwks else None
        if request.jwks_uri is not None:
            check_redirect_uris([request.jwks_uri])  # an https URL (loopback HTTP in dev)
        after_logout = (check_redirect_uris(request.post_logout_redirect_uris, one_host=False)
                        if request.post_logout_redirect_uris else ())
        if request.backchannel_logout_uri is not None:
            check_redirect_uris([request.backchannel_logout_uri])  # https (loopback HTTP in dev)
        client = Client(client_id=f"dvc-{secrets.token_urlsafe(12)}", name=request.name,
                        redirect_uris=redirect_uris, auth_method=method,
                        created_at=self._clock(), secret_sha256=request.secret_sha256,
                        jwks_uri=request.jwks_uri, jwks=jwks,
                        post_logout_redirect_uris=after_logout,
                        backchannel_logout_uri=request.backchannel_logout_uri,
                        require_par=request.require_pushed_authorization_requests)
        if jwks is not None:
            check_public_jwks(jwks)
            try:
                await self._client_keys.keyset(client)  # usable keys, or refused now
            except InvalidClient:
                raise InvalidClientMetadata("jwks không đọc được.") from None
        await self._clients.add(client)
        log.info("client registered", client_id=client.client_id, auth_method=method)
        optional: dict[str, Any] = {}
        if after_logout:
            optional["post_logout_redirect_uris"] = list(after_logout)
        if client.backchannel_logout_uri:
            optional["backchannel_logout_uri"] = client.backchannel_logout_uri
        if client.require_par:
            optional["require_pushed_authorization_requests"] = True
        return ClientView(client_id=client.client_id, name=client.name,
                          redirect_uris=list(client.redirect_uris),
                          token_endpoint_auth_method=method,
                          created_at=client.created_at.isoformat(), **optional)

    async def rotate_keys(self, _: Empty) -> KeysRotated:
        now = self._clock()
        kid = await self._keys.rotate(now)
        published = [key["kid"] for key in await self._keys.published(now)]
        log.info("signing keys rotated", kid=kid, published=published)
        return KeysRotated(kid=kid, published=published)

    # -- helpers ------------------------------------------------------------------------------
    def subject(self, client: Client, account_id: str) -> str:
        """Pairwise ``sub`` (OpenID Connect Core 8.1): stable per account and client sector,
        unlinkable across sectors."""
        return keyed_hash(self._policy.secret, f"sub|{client.sector}|{account_id}")

    def sid(self, session_id: str) -> str:
        """The ``sid`` of ID and logout tokens: stands for the dvcid session without naming
        its internal id."""
        return keyed_hash(self._policy.secret, f"sid|{session_id}")[:32]

    def _hash(self, value: str) -> str:
        return keyed_hash(self._policy.secret, f"oidc|{value}")
