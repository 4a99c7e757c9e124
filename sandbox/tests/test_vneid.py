"""The sandbox's VNeID provider over real HTTP (uvicorn on a free port): discovery and JWKS, the
PIN screen, the code exchange with PKCE, what it refuses (tampered or reused code, wrong
redirect_uri, PKCE or nonce missing, wrong secret, expired code or token), and its ID tokens
verified with its JWKS by Authlib's client."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc.errors import BadSignatureError

from dvcid.servers import free_port
from sandbox.app import create_app
from sandbox.config import SandboxSettings, VneidClientSettings
from sandbox.tests.live import served
from sandbox.vneid.provider import ACR_LEVEL_2
from sandbox.world import VNEID_SUBJECTS, World

CLIENT = VneidClientSettings(client_id="test-rp", client_secret="test-rp-secret",
                             redirect_uris=("http://127.0.0.1:9/cb",), name="Cổng thử nghiệm")
REDIRECT = CLIENT.redirect_uris[0]
AN = "001090001234"  # Nguyễn Văn An, seeded with VNeID PIN 123456
HA = "040199003344"  # Đặng Thị Hà: a telco subscriber without VNeID
PIN = "123456"


class ShiftedClock:
    """Real time, moved forward by the tests (the ID tokens must be valid for Authlib now)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture(scope="module")
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture(scope="module")
def live(clock: ShiftedClock) -> Iterator[tuple[str, World]]:
    port = free_port()
    settings = SandboxSettings(sandbox_port=port, vneid_extra_clients=(CLIENT,))
    app = create_app(settings, clock=clock)
    with served(app, port) as url:
        yield url, app.state.world


@pytest.fixture
def issuer(live: tuple[str, World], clock: ShiftedClock) -> str:
    clock.offset = timedelta()
    return f"{live[0]}/vneid"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False, timeout=10) as client:
        yield client


@pytest.fixture
async def rp(issuer: str) -> AsyncIterator[StarletteOAuth2App]:
    """Authlib's relying party client (the one the demo portal and dvcid use)."""
    oauth = OAuth()
    oauth.register("vneid", client_id=CLIENT.client_id, client_secret=CLIENT.client_secret,
                   server_metadata_url=f"{issuer}/.well-known/openid-configuration",
                   client_kwargs={"scope": "openid profile cccd",
                                  "code_challenge_method": "S256"})
    client: StarletteOAuth2App = oauth.create_client("vneid")
    yield client


class Authorization:
    """One authorization request's parameters and secrets (as a relying party keeps them)."""

    def __init__(self, **changes: str | None) -> None:
        self.verifier = generate_token(48)
        self.state = generate_token(16)
        self.nonce = generate_token(16)
        params: dict[str, str | None] = {
            "response_type": "code", "client_id": CLIENT.client_id, "redirect_uri": REDIRECT,
            "scope": "openid profile cccd", "state": self.state, "nonce": self.nonce,
            "code_challenge": create_s256_code_challenge(self.verifier),
            "code_challenge_method": "S256"}
        params.update(changes)
        self.params = {k: v for k, v in params.items() if v is not None}

    def url(self, issuer: str) -> str:
        return f"{issuer}/authorize?{urlencode(self.params)}"


def log_in(http: httpx.Client, issuer: str, auth: Authorization, cccd: str = AN,
           pin: str = PIN, decision: str = "login") -> httpx.Response:
    page = http.get(auth.url(issuer))
    assert page.status_code == 200, page.text
    action = unescape(re.search(r'<form method="post" action="([^"]+)"', page.text)[1])  # type: ignore[index]
    return http.post(f"{issuer.rsplit('/vneid', 1)[0]}{action}",
                     data={"cccd": cccd, "pin": pin, "decision": decision})


def redirected(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def code_of(http: httpx.Client, issuer: str, auth: Authorization, cccd: str = AN) -> str:
    answer = redirected(log_in(http, issuer, auth, cccd))
    assert answer["state"] == auth.state
    return answer["code"]


def exchange(http: httpx.Client, issuer: str, code: str, verifier: str | None,
             redirect_uri: str = REDIRECT, secret: str = CLIENT.client_secret) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        form["code_verifier"] = verifier
    return http.post(f"{issuer}/token", data=form, auth=(CLIENT.client_id, secret))


# -- discovery ---------------------------------------------------------------------------------

def test_discovery_and_jwks(http: httpx.Client, issuer: str) -> None:
    metadata = http.get(f"{issuer}/.well-known/openid-configuration").json()
    assert metadata["issuer"] == issuer
    assert metadata["authorization_endpoint"] == f"{issuer}/authorize"
    assert metadata["token_endpoint"] == f"{issuer}/token"
    assert metadata["userinfo_endpoint"] == f"{issuer}/userinfo"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["acr_values_supported"] == [ACR_LEVEL_2]
    assert {"openid", "profile", "cccd"} <= set(metadata["scopes_supported"])
    keys = http.get(metadata["jwks_uri"]).json()["keys"]
    assert [(k["kty"], k["alg"], k["use"]) for k in keys] == [("RSA", "RS256", "sig")]
    assert keys[0]["kid"] and "d" not in keys[0] and "p" not in keys[0]


# -- the PIN screen ----------------------------------------------------------------------------

def test_the_login_screen_names_the_client_and_asks_for_cccd_and_pin(http: httpx.Client,
                                                                      issuer: str) -> None:
    page = http.get(Authorization().url(issuer))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Cổng thử nghiệm" in page.text
    assert 'name="cccd"' in page.text and 'name="pin"' in page.text
    assert AN in page.text and HA not in page.text  # the seeded VNeID citizens are offered


@pytest.mark.parametrize(("cccd", "pin"), [(AN, "654321"), (AN, ""), (HA, PIN),
                                           ("000000000000", PIN), ("abc", PIN)])
def test_a_wrong_cccd_or_pin_shows_the_screen_again(http: httpx.Client, issuer: str,
                                                    cccd: str, pin: str) -> None:
    response = log_in(http, issuer, Authorization(), cccd, pin)
    assert response.status_code == 401 and "location" not in response.headers
    assert "Số định danh cá nhân hoặc mã PIN không đúng." in response.text


def test_cancel_sends_access_denied_back(http: httpx.Client, issuer: str) -> None:
    auth = Authorization()
    answer = redirected(log_in(http, issuer, auth, pin="", decision="cancel"))
    assert answer["error"] == "access_denied" and answer["state"] == auth.state
    assert "code" not in answer


# -- the code flow, with Authlib's relying party client ----------------------------------------

async def test_code_exchange_with_pkce_and_the_id_token_verified_by_authlib(
        http: httpx.Client, issuer: str, rp: StarletteOAuth2App) -> None:
    auth = Authorization()
    code = code_of(http, issuer, auth)
    token = await rp.fetch_access_token(code=code, redirect_uri=REDIRECT,
                                        code_verifier=auth.verifier)
    assert token["token_type"].lower() == "bearer" and "refresh_token" not in token
    claims = await rp.parse_id_token(token, nonce=auth.nonce)  # signature, iss, aud, exp, nonce
    assert claims["iss"] == issuer and claims["aud"] == [CLIENT.client_id]
    assert claims["sub"] == str(uuid.uuid5(VNEID_SUBJECTS, AN))
    assert claims["cccd"] == AN and claims["name"] == "Nguyễn Văn An"
    assert claims["birthdate"] == "1990-05-12" and claims["gender"] == "male"
    assert claims["acr"] == ACR_LEVEL_2 and claims["amr"] == ["pin"]
    assert claims["nonce"] == auth.nonce and "at_hash" in claims
    userinfo = await rp.userinfo(token=token)
    assert userinfo["sub"] == claims["sub"] and userinfo["cccd"] == AN
    assert "phone_number" not in userinfo  # not asked for


async def test_sub_is_stable_and_scopes_release_only_their_claims(
        http: httpx.Client, issuer: str, rp: StarletteOAuth2App) -> None:
    subjects = []
    for scope in ("openid", "openid phone"):
        auth = Authorization(scope=scope)
        token = await rp.fetch_access_token(code=code_of(http, issuer, auth),
                                            redirect_uri=REDIRECT, code_verifier=auth.verifier)
        claims = await rp.parse_id_token(token, nonce=auth.nonce)
        subjects.append(claims["sub"])
        assert "cccd" not in claims and "name" not in claims
    assert subjects[0] == subjects[1]
    assert claims["phone_number"] == "+84912345678"


async def test_a_tampered_id_token_signature_is_refused_by_authlib(
        http: httpx.Client, issuer: str, rp: StarletteOAuth2App) -> None:
    auth = Authorization()
    token = await rp.fetch_access_token(code=code_of(http, issuer, auth), redirect_uri=REDIRECT,
                                        code_verifier=auth.verifier)
    header, payload, signature = token["id_token"].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(BadSignatureError):
        await rp.parse_id_token({**token, "id_token": f"{header}.{payload}.{flipped}"},
                                nonce=auth.nonce)


def test_a_code_is_used_once(http: httpx.Client, issuer: str) -> None:
    auth = Authorization()
    code = code_of(http, issuer, auth)
    assert exchange(http, issuer, code, auth.verifier).status_code == 200
    again = exchange(http, issuer, code, auth.verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_failed_exchange_burns_the_code(http: httpx.Client, issuer: str) -> None:
    auth = Authorization()
    code = code_of(http, issuer, auth)
    assert exchange(http, issuer, code, generate_token(48)).json()["error"] == "invalid_grant"
    assert exchange(http, issuer, code, auth.verifier).json()["error"] == "invalid_grant"


def test_a_tampered_code_is_refused(http: httpx.Client, issuer: str) -> None:
    auth = Authorization()
    code = code_of(http, issuer, auth)
    tampered = code[:-1] + ("a" if code[-1] != "a" else "b")
    response = exchange(http, issuer, tampered, auth.verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("verifier", [None, "short", "x" * 43])
def test_the_code_verifier_must_match(http: httpx.Client, issuer: str,
                                      verifier: str | None) -> None:
    auth = Authorization()
    response = exchange(http, issuer, code_of(http, issuer, auth), verifier)
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_request", "invalid_grant")


def test_an_expired_code_is_refused(http: httpx.Client, issuer: str, clock: ShiftedClock) -> None:
    auth = Authorization()
    code = code_of(http, issuer, auth)
    clock.offset = timedelta(seconds=61)
    assert exchange(http, issuer, code, auth.verifier).json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_refused(http: httpx.Client, issuer: str) -> None:
    auth = Authorization()
    response = exchange(http, issuer, code_of(http, issuer, auth), auth.verifier,
                        secret="not-the-secret")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_the_secret_may_be_posted(http: httpx.Client, issuer: str) -> None:
    auth = Authorization()
    response = http.post(f"{issuer}/token", data={
        "grant_type": "authorization_code", "code": code_of(http, issuer, auth),
        "redirect_uri": REDIRECT, "code_verifier": auth.verifier,
        "client_id": CLIENT.client_id, "client_secret": CLIENT.client_secret})
    assert response.status_code == 200 and "id_token" in response.json()
    assert response.headers["cache-control"] == "no-store"


# -- redirect_uri ------------------------------------------------------------------------------

@pytest.mark.parametrize("redirect_uri", ["http://127.0.0.1:9/cb/", "http://evil.example/cb",
                                          "http://127.0.0.1:9/cb?x=1", None])
def test_an_unregistered_redirect_uri_is_never_followed(http: httpx.Client, issuer: str,
                                                       redirect_uri: str | None) -> None:
    page = http.get(Authorization(redirect_uri=redirect_uri).url(issuer))
    assert page.status_code == 400 and "location" not in page.headers
    assert "invalid_request" in page.text or "invalid_client" in page.text


def test_an_unknown_client_is_not_redirected(http: httpx.Client, issuer: str) -> None:
    page = http.get(Authorization(client_id="nobody").url(issuer))
    assert page.status_code in (400, 401) and "location" not in page.headers


def test_the_token_request_must_repeat_the_redirect_uri(http: httpx.Client, issuer: str) -> None:
    auth = Authorization()
    response = exchange(http, issuer, code_of(http, issuer, auth), auth.verifier,
                        redirect_uri="http://127.0.0.1:9/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


# -- what the authorization request must carry -------------------------------------------------

@pytest.mark.parametrize("changes", [{"code_challenge": None, "code_challenge_method": None},
                                     {"code_challenge_method": "plain"},
                                     {"code_challenge_method": None},
                                     {"nonce": None}])
def test_pkce_s256_and_nonce_are_required(http: httpx.Client, issuer: str,
                                          changes: dict[str, str | None]) -> None:
    auth = Authorization(**changes)
    answer = redirected(http.get(auth.url(issuer)))
    assert answer["error"] == "invalid_request" and answer["state"] == auth.state


def test_a_reused_nonce_is_refused(http: httpx.Client, issuer: str) -> None:
    first = Authorization()
    code_of(http, issuer, first)
    answer = redirected(http.get(Authorization(nonce=first.nonce).url(issuer)))
    assert answer["error"] == "invalid_request"


@pytest.mark.parametrize("scope", ["profile cccd", None])
def test_the_openid_scope_is_required(http: httpx.Client, issuer: str, scope: str | None) -> None:
    answer = redirected(http.get(Authorization(scope=scope).url(issuer)))
    assert answer["error"] == "invalid_scope"


def test_only_the_code_response_type(http: httpx.Client, issuer: str) -> None:
    answer = redirected(http.get(Authorization(response_type="token").url(issuer)))
    assert answer["error"] in ("unsupported_response_type", "unauthorized_client")


# -- userinfo ----------------------------------------------------------------------------------

def test_userinfo_needs_a_live_token(http: httpx.Client, issuer: str, clock: ShiftedClock) -> None:
    auth = Authorization()
    access_token = exchange(http, issuer, code_of(http, issuer, auth),
                            auth.verifier).json()["access_token"]
    bearer = {"Authorization": f"Bearer {access_token}"}
    assert http.get(f"{issuer}/userinfo", headers=bearer).json()["cccd"] == AN
    assert http.post(f"{issuer}/userinfo", headers=bearer).json()["cccd"] == AN
    assert http.get(f"{issuer}/userinfo").status_code == 401
    wrong = http.get(f"{issuer}/userinfo", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "invalid_token" in wrong.headers["www-authenticate"]
    clock.offset = timedelta(seconds=601)
    assert http.get(f"{issuer}/userinfo", headers=bearer).status_code == 401


# -- the dev route -----------------------------------------------------------------------------

def test_a_citizen_added_by_the_dev_route_logs_in(http: httpx.Client, issuer: str,
                                                  live: tuple[str, World]) -> None:
    cccd = "001195012345"
    added = http.post(f"{live[0]}/dev/vneid-citizens", json={
        "id_number": cccd, "full_name": "Ngô Thị Mai", "birth_date": "1995-04-30",
        "sex": "female", "phone": "0912000222", "pin": "246802"})
    assert added.status_code == 201
    assert added.json()["sub"] == str(uuid.uuid5(VNEID_SUBJECTS, cccd))
    assert added.json()["phone"] == "+84912000222" and "pin" not in added.json()
    assert http.get(f"{live[0]}/dev/vneid-citizens/{cccd}").json()["full_name"] == "Ngô Thị Mai"
    assert http.get(f"{live[0]}/dev/vneid-citizens/001195099999").status_code == 404
    auth = Authorization()
    assert log_in(http, issuer, auth, cccd, PIN).status_code == 401
    answer = redirected(log_in(http, issuer, auth, cccd, "246802"))
    claims = http.post(f"{issuer}/token", data={
        "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": REDIRECT,
        "code_verifier": auth.verifier}, auth=(CLIENT.client_id, CLIENT.client_secret)).json()
    assert "id_token" in claims


@pytest.mark.parametrize("change", [{"id_number": "12345"}, {"pin": "12345"}, {"pin": 123456},
                                    {"birth_date": "30/04/1995"}, {"extra": 1}])
def test_the_dev_route_refuses_bad_citizens(http: httpx.Client, live: tuple[str, World],
                                            change: dict[str, object]) -> None:
    body = {"id_number": "001095012346", "full_name": "Ngô Văn Nam", "birth_date": "1995-04-30",
            "pin": "135790", **change}
    response = http.post(f"{live[0]}/dev/vneid-citizens", json=body)
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


def test_the_seed_and_the_defaults() -> None:
    settings = SandboxSettings()
    world = create_app(settings).state.world
    assert len(world.vneid_citizens) == 6 and world.vneid_citizen(HA) is None
    citizen = world.vneid_citizen(AN)
    assert citizen.level == 2 and citizen.pin_matches(PIN) and not citizen.pin_matches("12345")
    assert "pin" not in repr(citizen) and "salt" not in repr(citizen)
    clients = {c.client_id: c for c in settings.vneid_clients()}
    assert clients["dvcid"].redirect_uris == ("http://127.0.0.1:8000/vneid/callback",)
    assert clients["demo-portal"].redirect_uris == ("http://127.0.0.1:8300/callback",)
