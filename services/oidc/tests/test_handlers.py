"""The OpenID Provider's use cases with fakes of the ports (no servers): every rule of the
authorization request, the code, the token endpoint, the ID token and userinfo."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from services.oidc.domain.errors import (
    InvalidClient,
    InvalidClientMetadata,
    InvalidGrant,
    InvalidRedirectUri,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    UnsupportedGrantType,
)
from services.oidc.domain.rules import CODE_TTL
from services.oidc.handlers import JWT_BEARER, OidcPolicy, OidcService
from services.oidc.tests.fakes import (
    FakeAssertionIds,
    FakeClientGrants,
    FakeClientKeys,
    FakeClients,
    FakeConsents,
    FakeGrants,
    FakeKeys,
    FakeNotifier,
    FakeProfile,
    FakeRefreshTokens,
    FakeSessionClients,
    FakeTokens,
)
from shared.clock import FrozenClock
from shared.contracts.base import Empty
from shared.contracts.oidc import (
    AuthorizationRequest,
    Authorize,
    BrowserSession,
    ClientJwks,
    CreateClient,
    EndSession,
    TokenQuery,
    TokenRequest,
    UserinfoRequest,
)
from shared.events import SessionRevoked, new_event

ISSUER = "https://sso.dichvucong.gov.vn"
REDIRECT = "https://dvc.hanoi.gov.vn/callback"
SECRET = "s3cret-of-the-portal"


@dataclass
class World:
    service: OidcService
    clock: FrozenClock
    tokens: FakeTokens
    keys: FakeKeys
    profile: FakeProfile
    notifier: FakeNotifier
    # Pre-agreed (every scope) for the other rules' tests; test_consent.py turns it off.
    consents: FakeConsents


@pytest.fixture
def world() -> World:
    clock = FrozenClock()
    tokens, keys, profile, notifier = FakeTokens(), FakeKeys(), FakeProfile(), FakeNotifier()
    refresh, consents = FakeRefreshTokens(), FakeConsents(preagreed=True)
    profile.accounts["acc-1"] = {
        "account_id": "acc-1", "subject_type": "citizen", "level": 2,
        "identity": {"id_number": "001090123456", "full_name": "Nguyễn Văn An",
                     "birth_date": "1990-05-17", "sex": "male", "id_type": "CCCD"},
        "phone": "+84912000111", "email": "an@example.vn"}
    service = OidcService(clients=FakeClients(), grants=FakeGrants(), tokens=tokens, keys=keys,
                          profile=profile, clock=clock, policy=OidcPolicy(ISSUER, "k" * 32),
                          client_keys=FakeClientKeys(), assertion_ids=FakeAssertionIds(),
                          session_clients=FakeSessionClients(), notifier=notifier,
                          refresh_tokens=refresh, consents=consents,
                          client_grants=FakeClientGrants(tokens, refresh))
    return World(service, clock, tokens, keys, profile, notifier, consents)


async def confidential(world: World) -> str:
    view = await world.service.create_client(CreateClient(
        name="Cổng DVC Hà Nội", redirect_uris=[REDIRECT],
        secret_sha256=hashlib.sha256(SECRET.encode()).hexdigest()))
    return view.client_id


def basic(client_id: str, secret: str = SECRET) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


SESSION = BrowserSession(account_id="acc-1", session_id="ses-1", level=2, method="password",
                         authenticated_at="2025-12-31T23:55:00+00:00")


def request(client_id: str | None, challenge: str, **changes: Any) -> AuthorizationRequest:
    params: dict[str, Any] = {
        "client_id": client_id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid profile phone email vn_identity", "state": "st-1", "nonce": "n-1",
        "code_challenge": challenge, "code_challenge_method": "S256"}
    params.update(changes)
    return AuthorizationRequest(**{k: v for k, v in params.items() if v is not None})


async def published(world: World) -> KeySet:
    return KeySet.import_key_set(cast(Any, (await world.service.jwks(Empty())).model_dump()))


def query(url: str | None) -> dict[str, str]:
    assert url is not None
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def code_for(world: World, client_id: str, challenge: str, **changes: Any) -> str:
    outcome = await world.service.authorize(Authorize(request=request(client_id, challenge, **changes),
                                                      session=SESSION))
    assert outcome.action == "redirect"
    answer = query(outcome.redirect_to)
    assert answer["state"] == "st-1" and answer["iss"] == ISSUER
    return answer["code"]


async def test_the_code_flow_issues_a_signed_id_token_and_userinfo(world: World) -> None:
    client_id = await confidential(world)
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    tokens = await world.service.token(TokenRequest(
        authorization=basic(client_id), grant_type="authorization_code", code=code,
        redirect_uri=REDIRECT, code_verifier=verifier))
    jwks = await published(world)
    claims = jwt.decode(tokens.id_token, jwks, algorithms=["ES256"]).claims
    assert claims["iss"] == ISSUER and claims["aud"] == client_id and claims["nonce"] == "n-1"
    assert claims["acr"] == "urn:dvcid:loa:2" and claims["amr"] == ["pwd", "otp", "sms", "mfa"]
    assert claims["exp"] - claims["iat"] == 600
    assert claims["auth_time"] == int(world.clock.now.timestamp()) - 300
    info = (await world.service.userinfo(UserinfoRequest(access_token=tokens.access_token))).claims
    assert info["sub"] == claims["sub"] and info["sub"] != "acc-1"  # pairwise, not the id
    assert info["name"] == "Nguyễn Văn An" and info["birthdate"] == "1990-05-17"
    assert info["phone_number"] == "+84912000111" and info["email"] == "an@example.vn"
    assert info["vn_id_number"] == "001090123456" and info["vn_id_type"] == "CCCD"


async def test_claims_follow_the_scopes(world: World) -> None:
    client_id = await confidential(world)
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge, scope="openid email unknown")
    tokens = await world.service.token(TokenRequest(
        authorization=basic(client_id), grant_type="authorization_code", code=code,
        redirect_uri=REDIRECT, code_verifier=verifier))
    assert tokens.scope == "openid email"
    info = (await world.service.userinfo(UserinfoRequest(access_token=tokens.access_token))).claims
    assert set(info) == {"sub", "email", "email_verified"}


async def test_a_wrong_client_or_redirect_uri_is_never_redirected_to(world: World) -> None:
    client_id = await confidential(world)
    _, challenge = pkce()
    with pytest.raises(InvalidClient):
        await world.service.authorize(Authorize(request=request("nobody", challenge)))
    for wrong in ("https://dvc.hanoi.gov.vn/callback/", "https://evil.example/callback",
                  "https://dvc.hanoi.gov.vn/callback?x=1", None):
        with pytest.raises(InvalidRedirectUri):
            await world.service.authorize(Authorize(request=request(client_id, challenge,
                                                                    redirect_uri=wrong)))


@pytest.mark.parametrize(("changes", "error"), [
    ({"code_challenge": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),
    ({"code_challenge": "short"}, "invalid_request"),
    ({"nonce": None}, "invalid_request"),
    ({"scope": "profile"}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"request": "eyJ..."}, "request_not_supported"),
])
async def test_a_bad_request_goes_back_with_its_error_and_state(world: World, changes: dict[str, Any],
                                                                error: str) -> None:
    client_id = await confidential(world)
    _, challenge = pkce()
    outcome = await world.service.authorize(Authorize(request=request(client_id, challenge, **changes),
                                                      session=SESSION))
    answer = query(outcome.redirect_to)
    assert answer["error"] == error and answer["state"] == "st-1" and "code" not in answer
    assert answer["error_description"].isascii()


async def test_no_session_asks_for_a_login_or_answers_login_required(world: World) -> None:
    client_id = await confidential(world)
    _, challenge = pkce()
    outcome = await world.service.authorize(Authorize(request=request(client_id, challenge)))
    assert outcome.action == "login"
    outcome = await world.service.authorize(Authorize(request=request(client_id, challenge,
                                                                      prompt="none")))
    assert query(outcome.redirect_to)["error"] == "login_required"


async def test_a_code_is_single_use_and_its_reuse_revokes_its_tokens(world: World) -> None:
    client_id = await confidential(world)
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    asked = TokenRequest(authorization=basic(client_id), grant_type="authorization_code",
                         code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    tokens = await world.service.token(asked)
    with pytest.raises(InvalidGrant):
        await world.service.token(asked)
    with pytest.raises(InvalidToken):
        await world.service.userinfo(UserinfoRequest(access_token=tokens.access_token))


async def test_a_code_expires_after_a_minute(world: World) -> None:
    client_id = await confidential(world)
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    world.clock.advance(seconds=60)
    with pytest.raises(InvalidGrant):
        await world.service.token(TokenRequest(
            authorization=basic(client_id), grant_type="authorization_code", code=code,
            redirect_uri=REDIRECT, code_verifier=verifier))


@pytest.mark.parametrize("changes", [
    {"code_verifier": None}, {"code_verifier": "x" * 43}, {"redirect_uri": REDIRECT + "/"},
    {"code": "not-a-code"}])
async def test_the_token_request_must_match_the_grant(world: World, changes: dict[str, Any]) -> None:
    client_id = await confidential(world)
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    fields: dict[str, Any] = {"authorization": basic(client_id), "grant_type": "authorization_code",
                              "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    fields.update(changes)
    with pytest.raises(InvalidGrant):
        await world.service.token(TokenRequest(**{k: v for k, v in fields.items() if v is not None}))


async def test_client_authentication(world: World) -> None:
    client_id = await confidential(world)
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    good = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier}
    for refused in ({"authorization": basic(client_id, "wrong")},
                    {"client_id": client_id},  # a confidential client must authenticate
                    {"client_id": client_id, "client_secret": SECRET},  # client_secret_post
                    {"authorization": basic("nobody")}):
        with pytest.raises(InvalidClient):
            await world.service.token(TokenRequest(**good, **refused))
    with pytest.raises(UnsupportedGrantType):
        await world.service.token(TokenRequest(**good | {"grant_type": "password"},
                                               authorization=basic(client_id)))


async def test_a_public_client_uses_pkce_alone(world: World) -> None:
    view = await world.service.create_client(CreateClient(
        name="Ứng dụng", redirect_uris=["http://127.0.0.1:7000/cb"], public=True))
    assert view.token_endpoint_auth_method == "none"
    verifier, challenge = pkce()
    outcome = await world.service.authorize(Authorize(
        request=request(view.client_id, challenge, redirect_uri="http://127.0.0.1:7000/cb"),
        session=SESSION))
    tokens = await world.service.token(TokenRequest(
        client_id=view.client_id, grant_type="authorization_code", code=query(outcome.redirect_to)["code"],
        redirect_uri="http://127.0.0.1:7000/cb", code_verifier=verifier))
    assert tokens.id_token


@pytest.mark.parametrize("fields", [
    {"redirect_uris": ["http://dvc.hanoi.gov.vn/cb"]},  # plain HTTP off the loopback
    {"redirect_uris": ["https://a.gov.vn/cb", "https://b.gov.vn/cb"]},  # two sectors
    {"redirect_uris": ["https://a.gov.vn/cb#x"]},
    {"redirect_uris": ["https://a.gov.vn/cb"], "public": True,
     "secret_sha256": "0" * 64},
    {"redirect_uris": ["https://a.gov.vn/cb"]},  # confidential without a secret
])
async def test_client_registration_rules(world: World, fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidClientMetadata):
        await world.service.create_client(CreateClient(name="x", **fields))


async def test_rotation_keeps_the_old_key_published_for_a_while(world: World) -> None:
    client_id = await confidential(world)
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    old = await world.service.token(TokenRequest(
        authorization=basic(client_id), grant_type="authorization_code", code=code,
        redirect_uri=REDIRECT, code_verifier=verifier))
    rotated = await world.service.rotate_keys(Empty())
    assert len(rotated.published) == 2 and rotated.published[0] == rotated.kid
    jwks = await published(world)
    jwt.decode(old.id_token, jwks, algorithms=["ES256"])  # still verifiable
    world.clock.advance(days=1, seconds=1)
    assert [k["kid"] for k in (await world.service.jwks(Empty())).keys] == [rotated.kid]


async def test_userinfo_refuses_unknown_and_expired_tokens(world: World) -> None:
    with pytest.raises(InvalidToken):
        await world.service.userinfo(UserinfoRequest(access_token="nope"))
    client_id = await confidential(world)
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    tokens = await world.service.token(TokenRequest(
        authorization=basic(client_id), grant_type="authorization_code", code=code,
        redirect_uri=REDIRECT, code_verifier=verifier))
    world.clock.advance(seconds=600)
    with pytest.raises(InvalidToken):
        await world.service.userinfo(UserinfoRequest(access_token=tokens.access_token))


async def test_discovery_names_the_endpoints_and_rules(world: World) -> None:
    metadata = (await world.service.metadata(Empty())).metadata
    assert metadata["issuer"] == ISSUER
    assert metadata["token_endpoint"] == f"{ISSUER}/oidc/token"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]


async def test_an_authorization_request_without_a_client_is_a_plain_refusal(world: World) -> None:
    _, challenge = pkce()
    with pytest.raises(InvalidRequest):
        await world.service.authorize(Authorize(request=request(None, challenge)))
    assert timedelta(seconds=60) == CODE_TTL


# -- private_key_jwt ----------------------------------------------------------------------------

async def keyed_client(world: World) -> tuple[str, ECKey]:
    key = ECKey.generate_key("P-256", private=True)
    view = await world.service.create_client(CreateClient(
        name="Cổng DVC Huế", redirect_uris=[REDIRECT],
        jwks=ClientJwks(keys=[key.as_dict(private=False) | {"kid": "k1"}])))
    assert view.token_endpoint_auth_method == "private_key_jwt"
    return view.client_id, key


def assertion(client_id: str, key: ECKey, now: int, **changes: Any) -> str:
    claims = {"iss": client_id, "sub": client_id, "aud": f"{ISSUER}/oidc/token",
              "iat": now, "exp": now + 60, "jti": secrets.token_hex(8)} | changes
    return jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key)


async def test_private_key_jwt_authenticates_a_client_once_per_assertion(world: World) -> None:
    client_id, key = await keyed_client(world)
    now = int(world.clock.now.timestamp())
    signed = assertion(client_id, key, now)
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    fields = {"grant_type": "authorization_code", "redirect_uri": REDIRECT,
              "code_verifier": verifier, "client_assertion_type": JWT_BEARER}
    tokens = await world.service.token(TokenRequest(**fields, code=code, client_assertion=signed))
    assert tokens.id_token
    code = await code_for(world, client_id, challenge)
    with pytest.raises(InvalidClient):  # the same assertion again: replayed
        await world.service.token(TokenRequest(**fields, code=code, client_assertion=signed))


@pytest.mark.parametrize("changes", [
    {"aud": "https://elsewhere.example/token"}, {"exp": -120}, {"iss": "someone-else"},
    {"exp": 2 * 3600},  # too long-lived to be remembered
])
async def test_a_bad_client_assertion_is_refused(world: World, changes: dict[str, Any]) -> None:
    client_id, key = await keyed_client(world)
    now = int(world.clock.now.timestamp())
    if "exp" in changes:
        changes = {"exp": now + changes["exp"]}
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    with pytest.raises(InvalidClient):
        await world.service.token(TokenRequest(
            grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
            code_verifier=verifier, client_assertion_type=JWT_BEARER,
            client_assertion=assertion(client_id, key, now, **changes)))


async def test_an_assertion_signed_by_another_key_is_refused(world: World) -> None:
    client_id, _ = await keyed_client(world)
    other = ECKey.generate_key("P-256", private=True)
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    with pytest.raises(InvalidClient):
        await world.service.token(TokenRequest(
            grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
            code_verifier=verifier, client_assertion_type=JWT_BEARER,
            client_assertion=assertion(client_id, other, int(world.clock.now.timestamp()))))


async def test_a_client_registers_public_keys_only(world: World) -> None:
    key = ECKey.generate_key("P-256", private=True)
    with pytest.raises(InvalidClientMetadata):
        await world.service.create_client(CreateClient(
            name="x", redirect_uris=[REDIRECT], jwks=ClientJwks(keys=[key.as_dict(private=True)])))
    with pytest.raises(InvalidClientMetadata):  # two ways at once
        await world.service.create_client(CreateClient(
            name="x", redirect_uris=[REDIRECT], secret_sha256="0" * 64,
            jwks=ClientJwks(keys=[key.as_dict(private=False)])))


# -- prompt=login, max_age ----------------------------------------------------------------------

async def test_prompt_login_asks_for_a_login_made_after_the_request(world: World) -> None:
    client_id = await confidential(world)
    _, challenge = pkce()
    asked = request(client_id, challenge, prompt="login")
    assert (await world.service.authorize(Authorize(request=asked, session=SESSION))).action == "login"
    # Back from that login: the session (made at 23:55) is newer than the request (23:50).
    outcome = await world.service.authorize(Authorize(
        request=asked, session=SESSION, login_requested_at="2025-12-31T23:50:00+00:00"))
    assert "code" in query(outcome.redirect_to)
    # A login older than the request does not count.
    outcome = await world.service.authorize(Authorize(
        request=asked, session=SESSION, login_requested_at="2025-12-31T23:58:00+00:00"))
    assert outcome.action == "login"


@pytest.mark.parametrize(("max_age", "fresh_enough"), [("600", True), ("60", False), ("0", False)])
async def test_max_age_bounds_the_age_of_the_login(world: World, max_age: str,
                                                   fresh_enough: bool) -> None:
    client_id = await confidential(world)  # the session logged in 5 minutes ago
    _, challenge = pkce()
    outcome = await world.service.authorize(Authorize(
        request=request(client_id, challenge, max_age=max_age), session=SESSION))
    assert (outcome.action == "redirect") is fresh_enough
    outcome = await world.service.authorize(Authorize(
        request=request(client_id, challenge, max_age=max_age, prompt="none"), session=SESSION))
    assert query(outcome.redirect_to).get("error") == (None if fresh_enough else "login_required")


async def test_max_age_must_be_a_number_of_seconds(world: World) -> None:
    client_id = await confidential(world)
    _, challenge = pkce()
    for wrong in ("-1", "1.5", "soon", "١٢"):
        outcome = await world.service.authorize(Authorize(
            request=request(client_id, challenge, max_age=wrong), session=SESSION))
        assert query(outcome.redirect_to)["error"] == "invalid_request"


# -- acr_values: a step up to level 3 -----------------------------------------------------------

async def test_acr_values_for_level_3_make_a_level_2_session_log_in_with_a_signature(
        world: World) -> None:
    client_id = await confidential(world)
    verifier, challenge = pkce()
    asked = request(client_id, challenge, acr_values="urn:dvcid:loa:3")
    outcome = await world.service.authorize(Authorize(request=asked, session=SESSION))
    assert (outcome.action, outcome.level) == ("login", 3)
    # Back from a login that stayed at level 2: the requirement is not met, said to the client.
    outcome = await world.service.authorize(Authorize(
        request=asked, session=SESSION, login_requested_at="2025-12-31T23:50:00+00:00"))
    assert query(outcome.redirect_to)["error"] == "unmet_authentication_requirements"
    signed_in = SESSION.model_copy(update={"level": 3, "method": "usb"})
    code = query((await world.service.authorize(Authorize(request=asked, session=signed_in)))
                 .redirect_to)["code"]
    tokens = await world.service.token(TokenRequest(
        authorization=basic(client_id), grant_type="authorization_code", code=code,
        redirect_uri=REDIRECT, code_verifier=verifier))
    claims = jwt.decode(tokens.id_token, await published(world)).claims
    assert claims["acr"] == "urn:dvcid:loa:3" and claims["amr"] == ["hwk", "sc", "pin", "mfa"]


@pytest.mark.parametrize(("acr_values", "action"), [
    ("urn:dvcid:loa:2 urn:dvcid:loa:3", "redirect"),  # level 2 is acceptable to the client
    ("urn:other:gold", "redirect"),  # unknown values are ignored
    ("urn:dvcid:loa:3 urn:other:gold", "login"),
])
async def test_the_lowest_known_acr_value_is_the_requirement(world: World, acr_values: str,
                                                             action: str) -> None:
    client_id = await confidential(world)
    _, challenge = pkce()
    outcome = await world.service.authorize(Authorize(
        request=request(client_id, challenge, acr_values=acr_values), session=SESSION))
    assert outcome.action == action


# -- RP-initiated logout ------------------------------------------------------------------------

AFTER_LOGOUT = "https://dvc.hanoi.gov.vn/logged-out"


async def id_token_of(world: World, client_id: str) -> str:
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    tokens = await world.service.token(TokenRequest(
        authorization=basic(client_id), grant_type="authorization_code", code=code,
        redirect_uri=REDIRECT, code_verifier=verifier))
    return tokens.id_token


async def logout_client(world: World) -> str:
    view = await world.service.create_client(CreateClient(
        name="Cổng DVC Hà Nội", redirect_uris=[REDIRECT], post_logout_redirect_uris=[AFTER_LOGOUT],
        secret_sha256=hashlib.sha256(SECRET.encode()).hexdigest()))
    return view.client_id


async def test_a_hint_naming_the_session_logs_out_without_asking(world: World) -> None:
    client_id = await logout_client(world)
    hint = await id_token_of(world, client_id)
    world.clock.advance(hours=2)  # an expired ID token is still a hint
    outcome = await world.service.end_session(EndSession(
        id_token_hint=hint, post_logout_redirect_uri=AFTER_LOGOUT, state="s-9", session=SESSION))
    assert not outcome.confirm and outcome.redirect_to == f"{AFTER_LOGOUT}?state=s-9"
    other = SESSION.model_copy(update={"account_id": "acc-2"})
    outcome = await world.service.end_session(EndSession(id_token_hint=hint, session=other))
    assert outcome.confirm and outcome.client_name == "Cổng DVC Hà Nội"


async def test_without_a_hint_the_person_confirms(world: World) -> None:
    client_id = await logout_client(world)
    outcome = await world.service.end_session(EndSession(
        client_id=client_id, post_logout_redirect_uri=AFTER_LOGOUT, session=SESSION))
    assert outcome.confirm and outcome.redirect_to == AFTER_LOGOUT
    assert not (await world.service.end_session(EndSession(client_id=client_id))).confirm


@pytest.mark.parametrize("changes", [
    {"post_logout_redirect_uri": "https://evil.example/"},  # not registered
    {"post_logout_redirect_uri": AFTER_LOGOUT, "client_id": None},  # no client named
    {"id_token_hint": "not.a.jwt"},
    {"client_id": "another-client"},  # not the hint's audience
])
async def test_logout_refusals(world: World, changes: dict[str, Any]) -> None:
    client_id = await logout_client(world)
    fields: dict[str, Any] = {"client_id": client_id} | changes
    if "id_token_hint" not in changes and changes.get("client_id") == "another-client":
        fields["id_token_hint"] = await id_token_of(world, client_id)
    with pytest.raises((InvalidRequest, InvalidClient)):
        await world.service.end_session(EndSession(**{k: v for k, v in fields.items() if v is not None},
                                                   session=SESSION))


async def test_a_session_that_ends_takes_its_tokens_and_codes_with_it(world: World) -> None:
    client_id = await confidential(world)
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    tokens = await world.service.token(TokenRequest(
        authorization=basic(client_id), grant_type="authorization_code", code=code,
        redirect_uri=REDIRECT, code_verifier=verifier))
    unused = await code_for(world, client_id, challenge)
    ended = new_event(SessionRevoked(account_id="acc-1", session_id="ses-1", reason="logout"),
                      correlation_id="login-1")
    await world.service.on_session_revoked(ended)
    await world.service.on_session_revoked(ended)  # a redelivery changes nothing
    with pytest.raises(InvalidToken):
        await world.service.userinfo(UserinfoRequest(access_token=tokens.access_token))
    with pytest.raises(InvalidGrant):
        await world.service.token(TokenRequest(
            authorization=basic(client_id), grant_type="authorization_code", code=unused,
            redirect_uri=REDIRECT, code_verifier=verifier))


async def test_a_session_that_ends_is_told_to_each_client_it_signed_in_to(world: World) -> None:
    view = await world.service.create_client(CreateClient(
        name="Cổng DVC Cần Thơ", redirect_uris=[REDIRECT],
        backchannel_logout_uri="https://dvc.hanoi.gov.vn/backchannel",
        secret_sha256=hashlib.sha256(SECRET.encode()).hexdigest()))
    client_id = view.client_id
    id_token = await id_token_of(world, client_id)
    await id_token_of(world, client_id)  # two sign-ins, one session: told once
    ended = new_event(SessionRevoked(account_id="acc-1", session_id="ses-1", reason="logout"),
                      correlation_id="login-1")
    await world.service.on_session_revoked(ended)
    await world.service.on_session_revoked(ended)  # a redelivery tells no one again
    ((uri, logout_token),) = world.notifier.sent
    assert uri == "https://dvc.hanoi.gov.vn/backchannel"
    keys = await published(world)
    told = jwt.decode(logout_token, keys)
    signed_in = jwt.decode(id_token, keys).claims
    assert told.header["typ"] == "logout+jwt"
    claims = told.claims
    assert claims["aud"] == client_id and claims["iss"] == ISSUER
    assert (claims["sub"], claims["sid"]) == (signed_in["sub"], signed_in["sid"])
    assert claims["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
    assert "nonce" not in claims and claims["jti"]


# -- introspection and revocation ---------------------------------------------------------------

async def test_a_client_introspects_and_revokes_its_own_tokens_only(world: World) -> None:
    client_id = await confidential(world)
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    tokens = await world.service.token(TokenRequest(
        authorization=basic(client_id), grant_type="authorization_code", code=code,
        redirect_uri=REDIRECT, code_verifier=verifier))
    seen = await world.service.introspect(TokenQuery(authorization=basic(client_id),
                                                     token=tokens.access_token))
    assert seen.active and seen.client_id == client_id and seen.scope == tokens.scope
    assert seen.exp is not None and seen.sub
    other = await world.service.create_client(CreateClient(
        name="Khác", redirect_uris=["http://127.0.0.1:7000/cb"], public=True))
    theirs = TokenQuery(client_id=other.client_id, token=tokens.access_token)
    assert not (await world.service.introspect(theirs)).active  # not theirs to look at
    await world.service.revoke(theirs)  # nor to end
    assert (await world.service.userinfo(UserinfoRequest(access_token=tokens.access_token))).claims
    await world.service.revoke(TokenQuery(authorization=basic(client_id), token=tokens.access_token))
    await world.service.revoke(TokenQuery(authorization=basic(client_id), token="unknown"))
    assert not (await world.service.introspect(TokenQuery(
        authorization=basic(client_id), token=tokens.access_token))).active
    with pytest.raises(InvalidToken):
        await world.service.userinfo(UserinfoRequest(access_token=tokens.access_token))
    with pytest.raises(InvalidClient):
        await world.service.introspect(TokenQuery(authorization=basic(client_id, "wrong"),
                                                  token=tokens.access_token))


# -- refresh tokens -----------------------------------------------------------------------------

async def first_tokens(world: World, client_id: str) -> Any:
    verifier, challenge = pkce()
    code = await code_for(world, client_id, challenge)
    return await world.service.token(TokenRequest(
        authorization=basic(client_id), grant_type="authorization_code", code=code,
        redirect_uri=REDIRECT, code_verifier=verifier))


def refreshing(client_id: str, refresh_token: str | None, **fields: Any) -> TokenRequest:
    return TokenRequest(authorization=basic(client_id), grant_type="refresh_token",
                        refresh_token=refresh_token, **fields)


async def test_a_refresh_token_rotates_and_its_reuse_ends_the_family(world: World) -> None:
    client_id = await confidential(world)
    first = await first_tokens(world, client_id)
    assert first.refresh_token
    second = await world.service.token(refreshing(client_id, first.refresh_token))
    assert second.refresh_token not in (None, first.refresh_token)
    claims = jwt.decode(second.id_token, await published(world)).claims
    assert "nonce" not in claims and claims["acr"] == "urn:dvcid:loa:2"
    with pytest.raises(InvalidGrant):  # the old one again: stolen, or replayed
        await world.service.token(refreshing(client_id, first.refresh_token))
    with pytest.raises(InvalidGrant):  # ... and the whole family ended with it
        await world.service.token(refreshing(client_id, second.refresh_token))
    for access in (first.access_token, second.access_token):
        with pytest.raises(InvalidToken):
            await world.service.userinfo(UserinfoRequest(access_token=access))


async def test_a_refresh_token_is_bound_to_its_client_its_scopes_and_its_life(
        world: World) -> None:
    client_id = await confidential(world)
    first = await first_tokens(world, client_id)
    other = await world.service.create_client(CreateClient(
        name="Khác", redirect_uris=["http://127.0.0.1:7000/cb"], public=True))
    with pytest.raises(InvalidGrant):
        await world.service.token(TokenRequest(client_id=other.client_id,
                                               grant_type="refresh_token",
                                               refresh_token=first.refresh_token))
    with pytest.raises(InvalidScope):  # no more than was granted
        await world.service.token(refreshing(client_id, first.refresh_token,
                                             scope="openid profile offline_access"))
    first = await first_tokens(world, client_id)
    narrower = await world.service.token(refreshing(client_id, first.refresh_token,
                                                    scope="openid email"))
    assert narrower.scope == "openid email"
    world.clock.advance(hours=8)  # the family's life, not extended by rotation
    with pytest.raises(InvalidGrant):
        await world.service.token(refreshing(client_id, narrower.refresh_token))


async def test_refresh_tokens_end_with_the_session_and_on_revocation(world: World) -> None:
    client_id = await confidential(world)
    first = await first_tokens(world, client_id)
    await world.service.revoke(TokenQuery(authorization=basic(client_id),
                                          token=first.refresh_token))
    with pytest.raises(InvalidToken):  # RFC 7009: the grant's access tokens end too
        await world.service.userinfo(UserinfoRequest(access_token=first.access_token))
    with pytest.raises(InvalidGrant):
        await world.service.token(refreshing(client_id, first.refresh_token))
    second = await first_tokens(world, client_id)
    seen = await world.service.introspect(TokenQuery(authorization=basic(client_id),
                                                     token=second.refresh_token))
    assert seen.active and seen.token_type == "refresh_token"
    await world.service.on_session_revoked(new_event(
        SessionRevoked(account_id="acc-1", session_id="ses-1", reason="logout"),
        correlation_id="login-1"))
    with pytest.raises(InvalidGrant):
        await world.service.token(refreshing(client_id, second.refresh_token))
