"""dvcid as an OpenID Provider end to end (docs/oidc.md): the whole stack as processes, real
HTTP, and on the relying party's side a real RP library, Authlib's OAuth 2.0 client (PKCE S256,
client_secret_basic or private_key_jwt) and its OpenID Connect ID token validation (signature
against the JWKS, iss, aud, exp, nonce, at_hash). The citizen logs in through the API; the browser is an HTTP
client holding the session cookie.

Covered (OpenID Connect Core, the Basic OP profile's code-flow items): discovery, the code flow
with PKCE S256 (required; ``plain`` refused), exact redirect URI, state and nonce echoed, a
single-use code that expires, a reused code revoking what it issued, client authentication,
the ID token's signature and claims (acr, amr, auth_time), userinfo per scope, key rotation.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc.jwk import ECKey
from pymongo import MongoClient

from dvcid.devstack import DevStack
from tests.journeys import (
    STRONG_PASSWORD,
    Citizen,
    client_ip,
    login,
    new_citizen,
    next_otp,
    register,
)

with warnings.catch_warnings():  # Authlib prefers httpx2 and warns when it runs on httpx
    warnings.simplefilter("ignore")
    from authlib.common.security import generate_token
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.jose import JsonWebKey, jwt
    from authlib.jose.errors import BadSignatureError
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from authlib.oidc.core import CodeIDToken

pytestmark = pytest.mark.e2e

REDIRECT = "http://127.0.0.1:9/callback"  # never fetched: the test reads the Location header
SCOPE = "openid profile phone email vn_identity"


def admin(stack: DevStack, *args: str) -> dict[str, str]:
    """``dvcid admin ...`` as an operator runs it, against the stack's NATS."""
    done = subprocess.run([sys.executable, "-m", "dvcid.cli", "admin", *args],
                          env=os.environ | {"DVCID_NATS_URL": stack.nats_url,
                                            "DVCID_NATS_NKEY_SEED_FILE": stack.nats_seed("operator")},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return dict(line.split(": ", 1) for line in done.stdout.splitlines())


@dataclass
class Portal:
    """A registered relying party, as its operator was given it."""

    client_id: str
    client_secret: str


@dataclass
class Person:
    citizen: Citizen
    browser: httpx.Client  # holds the dvcid session cookie


@pytest.fixture(scope="module")
def metadata(api: httpx.Client) -> dict[str, Any]:
    response = api.get("/.well-known/openid-configuration")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


@pytest.fixture(scope="module")
def portal(stack: DevStack) -> Portal:
    made = admin(stack, "create-client", "--name", "Cổng DVC Hà Nội", "--redirect-uri", REDIRECT)
    assert made["token_endpoint_auth_method"] == "client_secret_basic"
    return Portal(made["client_id"], made["client_secret"])


@pytest.fixture(scope="module")
def person(stack: DevStack, api: httpx.Client) -> Iterator[Person]:
    citizen = new_citizen()
    register(api, citizen)
    session = login(api, citizen)
    with httpx.Client(base_url=stack.gateway_url, timeout=30,
                      cookies={"dvcid_session": session["session_token"]}) as browser:
        yield Person(citizen, browser)


def rp(portal: Portal, secret: str | None = None) -> OAuth2Client:
    return OAuth2Client(portal.client_id, secret or portal.client_secret, scope=SCOPE,
                        redirect_uri=REDIRECT, code_challenge_method="S256",
                        token_endpoint_auth_method="client_secret_basic", timeout=30)


@dataclass
class Started:
    client: OAuth2Client
    url: str
    state: str
    nonce: str
    verifier: str


def start(portal: Portal, metadata: dict[str, Any], secret: str | None = None) -> Started:
    client = rp(portal, secret)
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = client.create_authorization_url(metadata["authorization_endpoint"], nonce=nonce,
                                                 code_verifier=verifier)
    return Started(client, url, state, nonce, verifier)


def agreed(browser: httpx.Client, response: httpx.Response,
           decision: str = "dong-y") -> httpx.Response:
    """The consent page, the first time an account meets a portal (or when it asks for more
    data): the person clicks "Đồng ý" (``dong-y``) or "Từ chối" (``tu-choi``); any other
    answer is left as it came."""
    if response.status_code != 200 or 'action="/oidc/dong-y"' not in response.text:
        return response
    assert "Chia sẻ thông tin với ứng dụng" in response.text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', response.text))
    return browser.post("/oidc/dong-y", data={name: html.unescape(value)
                                              for name, value in fields.items()}
                        | {"decision": decision}, follow_redirects=False)


def back_at_portal(person: Person, url: str) -> str:
    """The browser follows the authorization URL (and agrees on the consent page, if it
    is asked); dvcid redirects it to the portal."""
    response = agreed(person.browser, person.browser.get(url, follow_redirects=False))
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?"), location
    return location


def answer(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def fetch(started: Started, metadata: dict[str, Any], location: str) -> dict[str, Any]:
    token: dict[str, Any] = started.client.fetch_token(
        metadata["token_endpoint"], authorization_response=location, state=started.state,
        code_verifier=started.verifier)
    return token


def validated(id_token: str, metadata: dict[str, Any], portal: Portal, nonce: str,
              access_token: str) -> dict[str, Any]:
    """The RP's ID token validation (Authlib): signature with the provider's JWKS, iss, aud,
    exp, iat, nonce, at_hash."""
    jwks = JsonWebKey.import_key_set(httpx.get(metadata["jwks_uri"], timeout=30).json())
    claims = jwt.decode(id_token, jwks, claims_cls=CodeIDToken,
                        claims_options={"iss": {"essential": True, "value": metadata["issuer"]}},
                        claims_params={"nonce": nonce, "client_id": portal.client_id,
                                       "access_token": access_token})
    claims.validate(leeway=5)
    return dict(claims)


def test_discovery_describes_the_provider(stack: DevStack, metadata: dict[str, Any]) -> None:
    assert metadata["issuer"] == stack.gateway_url
    assert metadata["authorization_endpoint"] == f"{stack.gateway_url}/oidc/authorize"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["id_token_signing_alg_values_supported"] == ["ES256"]
    keys = httpx.get(metadata["jwks_uri"], timeout=30).json()["keys"]
    assert keys and all("d" not in key for key in keys)  # public halves only


def test_a_portal_logs_a_citizen_in(metadata: dict[str, Any], portal: Portal,
                                    person: Person) -> None:
    started = start(portal, metadata)
    location = back_at_portal(person, started.url)
    assert answer(location)["state"] == started.state
    assert answer(location)["iss"] == metadata["issuer"]
    token = fetch(started, metadata, location)
    claims = validated(token["id_token"], metadata, portal, started.nonce, token["access_token"])
    assert claims["nonce"] == started.nonce  # echoed (also checked by the validation)
    assert claims["acr"] == "urn:dvcid:loa:2"
    assert claims["amr"] == ["pwd", "otp", "sms", "mfa"]
    now = datetime.now(UTC).timestamp()
    assert now - 300 < claims["auth_time"] <= now + 5
    userinfo = started.client.get(metadata["userinfo_endpoint"]).json()
    citizen = person.citizen
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["name"] == citizen.full_name and userinfo["birthdate"] == citizen.birth_date
    assert userinfo["gender"] == citizen.sex
    assert userinfo["phone_number"] == "+84" + citizen.phone[1:]
    assert userinfo["vn_id_number"] == citizen.id_number
    assert userinfo["vn_subject_type"] == "citizen"
    # The same person, the same portal: the same subject next time.
    again = start(portal, metadata)
    token = fetch(again, metadata, back_at_portal(person, again.url))
    assert validated(token["id_token"], metadata, portal, again.nonce,
                     token["access_token"])["sub"] == claims["sub"]


def test_a_tampered_id_token_is_refused_by_the_portal(metadata: dict[str, Any], portal: Portal,
                                                      person: Person) -> None:
    started = start(portal, metadata)
    token = fetch(started, metadata, back_at_portal(person, started.url))
    header, payload, signature = token["id_token"].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(BadSignatureError):
        validated(f"{header}.{payload}.{flipped}", metadata, portal, started.nonce,
                  token["access_token"])


def test_a_wrong_redirect_uri_is_never_redirected_to(metadata: dict[str, Any], portal: Portal,
                                                     person: Person) -> None:
    started = start(portal, metadata)
    for wrong in ("http://127.0.0.1:9/callback/", "https://evil.example/callback"):
        url = started.url.replace(urlencode({"redirect_uri": REDIRECT}),
                                  urlencode({"redirect_uri": wrong}))
        assert url != started.url
        response = person.browser.get(url, follow_redirects=False)
        assert response.status_code == 400 and "location" not in response.headers
        assert "text/html" in response.headers["content-type"]


def authorize_query(portal: Portal, **params: str) -> str:
    base = {"client_id": portal.client_id, "redirect_uri": REDIRECT, "response_type": "code",
            "scope": "openid", "state": "st-" + secrets.token_hex(4), "nonce": "n-1"}
    return "/oidc/authorize?" + urlencode({k: v for k, v in (base | params).items() if v})


@pytest.mark.parametrize("pkce", [
    {},  # missing
    {"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
     "code_challenge_method": "plain"},
    {"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},  # method absent: plain
])
def test_pkce_s256_is_required(portal: Portal, person: Person, pkce: dict[str, str]) -> None:
    response = person.browser.get(authorize_query(portal, **pkce), follow_redirects=False)
    assert response.status_code == 302
    error = answer(response.headers["location"])
    assert error["error"] == "invalid_request" and error["state"].startswith("st-")
    assert "code" not in error


def test_a_code_is_single_use_and_its_reuse_revokes_the_tokens(
        metadata: dict[str, Any], portal: Portal, person: Person) -> None:
    started = start(portal, metadata)
    location = back_at_portal(person, started.url)
    first = fetch(started, metadata, location)
    assert started.client.get(metadata["userinfo_endpoint"]).status_code == 200
    second = rp(portal)
    with pytest.raises(OAuthError) as refused:
        second.fetch_token(metadata["token_endpoint"], authorization_response=location,
                           code_verifier=started.verifier)
    assert refused.value.error == "invalid_grant"
    response = httpx.get(metadata["userinfo_endpoint"], timeout=30,
                         headers={"Authorization": f"Bearer {first['access_token']}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_an_expired_code_is_refused(metadata: dict[str, Any], portal: Portal, person: Person,
                                    mongo: MongoClient) -> None:
    started = start(portal, metadata)
    location = back_at_portal(person, started.url)
    # A minute later (the database's clock moved instead of the test waiting).
    mongo["dvcid_oidc"]["grants"].update_many(
        {"client_id": portal.client_id, "used_at": None},
        {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}})
    with pytest.raises(OAuthError) as refused:
        fetch(started, metadata, location)
    assert refused.value.error == "invalid_grant"


def test_a_wrong_verifier_or_secret_is_refused(metadata: dict[str, Any], portal: Portal,
                                               person: Person) -> None:
    started = start(portal, metadata, secret="not-the-secret")
    with pytest.raises(OAuthError) as refused:
        fetch(started, metadata, back_at_portal(person, started.url))
    assert refused.value.error == "invalid_client"
    started = start(portal, metadata)
    location = back_at_portal(person, started.url)
    with pytest.raises(OAuthError) as refused:
        started.client.fetch_token(metadata["token_endpoint"], authorization_response=location,
                                   code_verifier=generate_token(48))
    assert refused.value.error == "invalid_grant"


def test_without_a_session_the_browser_is_sent_to_the_login_page(
        stack: DevStack, metadata: dict[str, Any], portal: Portal) -> None:
    started = start(portal, metadata)
    with httpx.Client(timeout=30) as stranger:
        response = stranger.get(started.url, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"].startswith("/dang-nhap")
    assert "dvcid_web_sso" in response.cookies  # the request, kept for after the login


def test_rotated_keys_sign_new_tokens_and_old_ones_still_verify(
        stack: DevStack, metadata: dict[str, Any], portal: Portal, person: Person) -> None:
    started = start(portal, metadata)
    old = fetch(started, metadata, back_at_portal(person, started.url))
    rotated = admin(stack, "rotate-keys")
    assert len(rotated["published"].split()) >= 2
    validated(old["id_token"], metadata, portal, started.nonce, old["access_token"])
    again = start(portal, metadata)
    new = fetch(again, metadata, back_at_portal(person, again.url))
    header = jwt.decode(new["id_token"], JsonWebKey.import_key_set(
        httpx.get(metadata["jwks_uri"], timeout=30).json())).header
    assert header["kid"] == rotated["kid"]


def csrf_of(page: httpx.Response, action: str) -> str:
    found = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>.*?name="csrf_token" '
                      r'value="([^"]+)"', page.text, re.S)
    assert found, f"no form posting to {action}"
    return found.group(1)


def log_in_on_the_pages(browser: httpx.Client, api: httpx.Client, citizen: Citizen,
                        started: Started, gateway_url: str) -> str:
    """The browser follows the portal's authorization URL to the login page, logs in there
    (password, then the OTP) and is sent back to the authorization request: the portal's
    redirect URI with the code (its Location)."""
    sent = browser.get(started.url, follow_redirects=False)
    assert sent.status_code == 302 and sent.headers["location"] == "/dang-nhap?tb=sso"
    page = browser.get(sent.headers["location"])
    assert "tiếp tục vào cổng dịch vụ công" in page.text  # why the login is asked
    typed = browser.post("/dang-nhap", data={
        "csrf_token": csrf_of(page, "/dang-nhap"), "tab": "cccd",
        "username": citizen.id_number, "password": STRONG_PASSWORD}, follow_redirects=False)
    assert typed.status_code == 303 and typed.headers["location"] == "/dang-nhap/otp"
    page = browser.get("/dang-nhap/otp")
    done = browser.post("/dang-nhap/otp", data={
        "csrf_token": csrf_of(page, "/dang-nhap/otp"), "code": next_otp(api, citizen)},
        follow_redirects=False)
    assert done.status_code == 303, done.text
    # A page of ours sends the browser on (a new navigation: the login form's CSP,
    # form-action 'self', would stop a redirect chain reaching the portal).
    assert done.headers["location"] == "/oidc/tiep-tuc"
    resuming = browser.get("/oidc/tiep-tuc")
    target = started.url.removeprefix(gateway_url)
    assert resuming.status_code == 200 and html.escape(target) in resuming.text
    back = agreed(browser, browser.get(target, follow_redirects=False))
    assert back.status_code in (302, 303) and back.headers["location"].startswith(REDIRECT + "?")
    assert "dvcid_web_sso" not in browser.cookies  # used once, then forgotten
    location: str = back.headers["location"]
    return location


def test_after_logging_in_on_the_pages_the_browser_goes_back_to_the_portal(
        stack: DevStack, api: httpx.Client, metadata: dict[str, Any], portal: Portal) -> None:
    citizen = new_citizen(sex="female")
    register(api, citizen)
    started = start(portal, metadata)
    with httpx.Client(base_url=stack.gateway_url, timeout=30,
                      headers=client_ip(citizen.id_number)) as browser:
        location = log_in_on_the_pages(browser, api, citizen, started, stack.gateway_url)
    token = fetch(started, metadata, location)
    claims = validated(token["id_token"], metadata, portal, started.nonce, token["access_token"])
    assert claims["acr"] == "urn:dvcid:loa:2"


@pytest.fixture(scope="module")
def portal_keys() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


@pytest.fixture(scope="module")
def jwks_server(portal_keys: ECKey) -> Iterator[str]:
    """The portal's own web server, publishing its public keys (its jwks_uri)."""
    body = json.dumps({"keys": [portal_keys.as_dict(private=False) | {"kid": "portal-1"}]})

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


@pytest.mark.parametrize("registered", ["jwks_uri", "jwks_file"])
def test_a_portal_authenticates_with_private_key_jwt(
        stack: DevStack, metadata: dict[str, Any], person: Person, portal_keys: ECKey,
        jwks_server: str, tmp_path: Path, registered: str) -> None:
    if registered == "jwks_uri":
        made = admin(stack, "create-client", "--name", "Cổng DVC Huế", "--redirect-uri", REDIRECT,
                     "--jwks-uri", jwks_server)
    else:
        keys = tmp_path / "keys.json"
        keys.write_text(json.dumps({"keys": [portal_keys.as_dict(private=False)
                                             | {"kid": "portal-1"}]}))
        made = admin(stack, "create-client", "--name", "Cổng DVC Huế", "--redirect-uri", REDIRECT,
                     "--jwks-file", str(keys))
    assert made["token_endpoint_auth_method"] == "private_key_jwt" and "client_secret" not in made
    token_endpoint = metadata["token_endpoint"]
    client = OAuth2Client(made["client_id"], portal_keys, scope="openid profile",
                          redirect_uri=REDIRECT, code_challenge_method="S256",
                          token_endpoint_auth_method=PrivateKeyJWT(
                              token_endpoint, alg="ES256", headers={"kid": "portal-1"}),
                          timeout=30)
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = client.create_authorization_url(metadata["authorization_endpoint"], nonce=nonce,
                                                 code_verifier=verifier)
    location = back_at_portal(person, url)
    token = client.fetch_token(token_endpoint, authorization_response=location, state=state,
                               code_verifier=verifier)
    portal = Portal(made["client_id"], "")
    assert validated(token["id_token"], metadata, portal, nonce, token["access_token"])["aud"] \
        == made["client_id"]
    # Another portal's key does not authenticate this one.
    stranger = OAuth2Client(made["client_id"], ECKey.generate_key("P-256", private=True),
                            redirect_uri=REDIRECT, code_challenge_method="S256",
                            token_endpoint_auth_method=PrivateKeyJWT(token_endpoint, alg="ES256"),
                            timeout=30)
    url, state = stranger.create_authorization_url(metadata["authorization_endpoint"],
                                                   nonce=nonce, code_verifier=verifier)
    with pytest.raises(OAuthError) as refused:
        stranger.fetch_token(token_endpoint, authorization_response=back_at_portal(person, url),
                             state=state, code_verifier=verifier)
    assert refused.value.error == "invalid_client"


def test_codes_tokens_and_secrets_are_not_kept_in_clear(
        metadata: dict[str, Any], portal: Portal, person: Person, mongo: MongoClient) -> None:
    started = start(portal, metadata)
    location = back_at_portal(person, started.url)
    token = fetch(started, metadata, location)
    database = mongo["dvcid_oidc"]
    stored = json.dumps([doc for name in database.list_collection_names()
                         for doc in database[name].find()], default=str)
    for value in (answer(location)["code"], token["access_token"], portal.client_secret):
        assert value not in stored
    for key in database["signing_keys"].find():
        assert "d" not in key["public_jwk"] and isinstance(key["sealed"], bytes)


def test_prompt_login_makes_a_logged_in_citizen_log_in_again(
        stack: DevStack, api: httpx.Client, metadata: dict[str, Any], portal: Portal,
        person: Person) -> None:
    started = start(portal, metadata)
    started.url += "&prompt=login"
    before = datetime.now(UTC).timestamp()
    with httpx.Client(base_url=stack.gateway_url, timeout=30,
                      headers=client_ip(person.citizen.id_number),
                      cookies={"dvcid_session": person.browser.cookies["dvcid_session"]}) as browser:
        location = log_in_on_the_pages(browser, api, person.citizen, started, stack.gateway_url)
    token = fetch(started, metadata, location)
    claims = validated(token["id_token"], metadata, portal, started.nonce, token["access_token"])
    assert claims["auth_time"] >= int(before)  # the new login, not the old session


def test_max_age_zero_needs_a_fresh_login_and_prompt_none_says_so(
        metadata: dict[str, Any], portal: Portal, person: Person) -> None:
    started = start(portal, metadata)
    response = person.browser.get(started.url + "&max_age=0&prompt=none", follow_redirects=False)
    assert answer(response.headers["location"])["error"] == "login_required"


def test_acr_values_for_level_3_need_a_signature_login(
        stack: DevStack, api: httpx.Client, metadata: dict[str, Any], portal: Portal,
        person: Person) -> None:
    from tests.test_usb_sim_e2e import issue, login_usb, new_id_number, register_usb

    started = start(portal, metadata)
    level3 = started.url + "&" + urlencode({"acr_values": "urn:dvcid:loa:3"})
    # A password + OTP session (level 2) is sent to the signature tabs of the login page.
    response = person.browser.get(level3, follow_redirects=False)
    assert response.headers["location"] == "/dang-nhap?tab=sim&tb=sso-3"
    page = person.browser.get(response.headers["location"])
    assert "chữ ký số" in page.text
    # A citizen logged in with a USB token (level 3) gets a code at once, acr level 3.
    material = issue(api, id_number=new_id_number(), key_type="ec")
    register_usb(api, material, "citizen")
    signed_in = login_usb(api, material)
    assert signed_in.status_code == 200, signed_in.text
    with httpx.Client(base_url=stack.gateway_url, timeout=30, cookies={
            "dvcid_session": signed_in.json()["session_token"]}) as browser:
        location = back_at_portal(Person(person.citizen, browser), level3)
    token = fetch(started, metadata, location)
    claims = validated(token["id_token"], metadata, portal, started.nonce, token["access_token"])
    assert claims["acr"] == "urn:dvcid:loa:3" and claims["amr"] == ["hwk", "sc", "pin", "mfa"]


AFTER_LOGOUT = "http://127.0.0.1:9/logged-out"


@pytest.fixture(scope="module")
def logout_portal(stack: DevStack) -> Portal:
    made = admin(stack, "create-client", "--name", "Cổng DVC Đà Nẵng", "--redirect-uri", REDIRECT,
                 "--post-logout-redirect-uri", AFTER_LOGOUT)
    assert made["post_logout_redirect_uri"] == AFTER_LOGOUT
    return Portal(made["client_id"], made["client_secret"])


def fresh_person(stack: DevStack, api: httpx.Client) -> tuple[Person, str]:
    citizen = new_citizen()
    register(api, citizen)
    token = login(api, citizen)["session_token"]
    browser = httpx.Client(base_url=stack.gateway_url, timeout=30,
                           cookies={"dvcid_session": token})
    return Person(citizen, browser), token


def session_alive(api: httpx.Client, token: str) -> bool:
    status = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code
    assert status in (200, 401)
    return status == 200


def test_rp_initiated_logout_with_the_id_token_ends_the_session(
        stack: DevStack, api: httpx.Client, metadata: dict[str, Any],
        logout_portal: Portal) -> None:
    assert metadata["end_session_endpoint"] == f"{stack.gateway_url}/oidc/logout"
    person, token = fresh_person(stack, api)
    with person.browser:
        started = start(logout_portal, metadata)
        tokens = fetch(started, metadata, back_at_portal(person, started.url))
        assert userinfo_status(metadata, tokens["access_token"]) == 200
        response = person.browser.get("/oidc/logout", params={
            "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": AFTER_LOGOUT,
            "state": "bye-1"}, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"{AFTER_LOGOUT}?state=bye-1"
    assert not session_alive(api, token)
    # The access token ended with the session (oidc consumes SessionRevoked).
    deadline = time.monotonic() + 15
    while userinfo_status(metadata, tokens["access_token"]) != 401:
        assert time.monotonic() < deadline, "the access token outlived its session"
        time.sleep(0.2)


def userinfo_status(metadata: dict[str, Any], access_token: str) -> int:
    return httpx.get(metadata["userinfo_endpoint"], timeout=30,
                     headers={"Authorization": f"Bearer {access_token}"}).status_code


def test_logout_without_a_hint_asks_first_and_refuses_unregistered_uris(
        stack: DevStack, api: httpx.Client, logout_portal: Portal) -> None:
    person, token = fresh_person(stack, api)
    with person.browser as browser:
        refused = browser.get("/oidc/logout", params={
            "client_id": logout_portal.client_id,
            "post_logout_redirect_uri": "https://evil.example/"}, follow_redirects=False)
        assert refused.status_code == 400 and "location" not in refused.headers
        params = {"client_id": logout_portal.client_id, "post_logout_redirect_uri": AFTER_LOGOUT}
        page = browser.get("/oidc/logout", params=params, follow_redirects=False)
        assert page.status_code == 200 and "Cổng DVC Đà Nẵng" in page.text
        assert session_alive(api, token)  # a link alone ends nothing
        done = browser.post("/oidc/logout/xac-nhan", follow_redirects=False, data=params | {
            "csrf_token": csrf_of(page, "/oidc/logout/xac-nhan")})
        assert done.status_code == 303 and done.headers["location"] == AFTER_LOGOUT
    assert not session_alive(api, token)


@pytest.fixture(scope="module")
def backchannel() -> Iterator[tuple[str, list[str]]]:
    """The portal's back-channel logout endpoint: records every logout token POSTed to it."""
    received: list[str] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            received.extend(parse_qs(body).get("logout_token", []))
            self.send_response(200)
            self.send_header("cache-control", "no-store")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/backchannel", received
    server.shutdown()


def test_a_logout_anywhere_is_told_to_the_portal_on_its_back_channel(
        stack: DevStack, api: httpx.Client, metadata: dict[str, Any],
        backchannel: tuple[str, list[str]]) -> None:
    uri, received = backchannel
    assert metadata["backchannel_logout_supported"] is True
    made = admin(stack, "create-client", "--name", "Cổng DVC Cần Thơ", "--redirect-uri", REDIRECT,
                 "--backchannel-logout-uri", uri)
    portal = Portal(made["client_id"], made["client_secret"])
    person, session_token = fresh_person(stack, api)
    with person.browser:
        started = start(portal, metadata)
        tokens = fetch(started, metadata, back_at_portal(person, started.url))
    signed_in = validated(tokens["id_token"], metadata, portal, started.nonce,
                          tokens["access_token"])
    # The citizen logs out of dvcid itself (the API), not through the portal.
    ended = api.post("/api/v1/logout", headers={"Authorization": f"Bearer {session_token}"})
    assert ended.status_code == 204
    deadline = time.monotonic() + 15
    while not received:
        assert time.monotonic() < deadline, "no logout token reached the portal"
        time.sleep(0.2)
    (logout_token,) = received
    jwks = JsonWebKey.import_key_set(httpx.get(metadata["jwks_uri"], timeout=30).json())
    told = jwt.decode(logout_token, jwks)
    assert told.header["typ"] == "logout+jwt"
    assert told["iss"] == metadata["issuer"] and told["aud"] == portal.client_id
    assert (told["sub"], told["sid"]) == (signed_in["sub"], signed_in["sid"])
    assert "http://schemas.openid.net/event/backchannel-logout" in told["events"]
    assert userinfo_status(metadata, tokens["access_token"]) == 401


def test_a_portal_introspects_and_revokes_its_access_token(
        metadata: dict[str, Any], portal: Portal, person: Person) -> None:
    started = start(portal, metadata)
    token = fetch(started, metadata, back_at_portal(person, started.url))
    seen = started.client.introspect_token(metadata["introspection_endpoint"],
                                           token=token["access_token"])
    assert seen.status_code == 200 and seen.json()["active"] is True
    assert seen.json()["client_id"] == portal.client_id
    ended = started.client.revoke_token(metadata["revocation_endpoint"],
                                        token=token["access_token"])
    assert ended.status_code == 200
    assert started.client.introspect_token(metadata["introspection_endpoint"],
                                           token=token["access_token"]).json() == {"active": False}
    assert userinfo_status(metadata, token["access_token"]) == 401


def test_a_portal_refreshes_with_rotation_and_a_reused_refresh_token_ends_all(
        metadata: dict[str, Any], portal: Portal, person: Person) -> None:
    started = start(portal, metadata)
    first = fetch(started, metadata, back_at_portal(person, started.url))
    assert first["refresh_token"]
    client = rp(portal)
    second = client.refresh_token(metadata["token_endpoint"], refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert userinfo_status(metadata, second["access_token"]) == 200
    with pytest.raises(OAuthError) as refused:  # the old one again
        rp(portal).refresh_token(metadata["token_endpoint"], refresh_token=first["refresh_token"])
    assert refused.value.error == "invalid_grant"
    assert userinfo_status(metadata, second["access_token"]) == 401  # the family ended
    with pytest.raises(OAuthError):
        rp(portal).refresh_token(metadata["token_endpoint"], refresh_token=second["refresh_token"])
