"""The demo client portal logs a citizen in through the sandbox's VNeID provider, end to end
over real HTTP: both apps served on loopback, an HTTP client as the browser (cookies kept,
redirects followed one by one), the portal's real relying party library (Authlib) in between."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import RSAKey

from dvcid.servers import free_port
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxSettings, VneidClientSettings
from sandbox.demo_portal.app import create_app as create_portal
from sandbox.demo_portal.config import DemoPortalSettings
from sandbox.tests.live import served
from sandbox.vneid.provider import ACR_LEVEL_2, VneidProvider

SECRET = "demo-portal-test-secret"


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    return free_port(), free_port()


@pytest.fixture(scope="module")
def sandbox(ports: tuple[int, int]) -> FastAPI:
    client = VneidClientSettings(client_id="demo-portal", client_secret=SECRET,
                                 redirect_uris=(f"http://127.0.0.1:{ports[1]}/callback",),
                                 name="Cổng dịch vụ công tỉnh mẫu")
    return create_sandbox(SandboxSettings(sandbox_port=ports[0], vneid_extra_clients=(client,)))


@pytest.fixture(scope="module")
def portal(ports: tuple[int, int], sandbox: FastAPI) -> Iterator[str]:
    sandbox_port, portal_port = ports
    settings = DemoPortalSettings(
        port=portal_port, issuer=f"http://127.0.0.1:{sandbox_port}/vneid",
        client_id="demo-portal", client_secret=SECRET, scope="openid profile cccd")
    with served(sandbox, sandbox_port), served(create_portal(settings), portal_port) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False, timeout=10) as client:
        yield client


def follow(browser: httpx.Client, response: httpx.Response) -> httpx.Response:
    """Follows redirections as a browser does (cookies of each host kept by the client)."""
    while response.is_redirect:
        location = str(response.url.join(response.headers["location"]))
        response = browser.get(location)
    return response


def session_cookie(browser: httpx.Client) -> dict[str, Any]:
    """What the portal's session cookie holds (Starlette's: base64 JSON, then its signature)."""
    payload = browser.cookies["demo_portal_session"].split(".")[0]
    session: dict[str, Any] = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return session


def vneid_login(browser: httpx.Client, portal: str, cccd: str, pin: str) -> httpx.Response:
    """From the portal's login button to the answer of VNeID's PIN screen."""
    screen = follow(browser, browser.get(f"{portal}/login"))
    assert screen.status_code == 200 and "/vneid/authorize" in str(screen.url)
    assert "Cổng dịch vụ công tỉnh mẫu" in screen.text
    action = unescape(re.search(r'<form method="post" action="([^"]+)"', screen.text)[1])  # type: ignore[index]
    return browser.post(str(screen.url.join(action)),
                        data={"cccd": cccd, "pin": pin, "decision": "login"})


def test_the_portal_logs_a_citizen_in_through_vneid_and_out(browser: httpx.Client,
                                                            portal: str) -> None:
    home = browser.get(f"{portal}/")
    assert home.status_code == 200 and 'href="/login"' in home.text

    # The request the portal's library sends: code flow, PKCE S256, state and nonce.
    to_vneid = browser.get(f"{portal}/login")
    assert to_vneid.status_code == 302
    asked = parse_qs(urlsplit(to_vneid.headers["location"]).query)
    assert asked["response_type"] == ["code"] and asked["code_challenge_method"] == ["S256"]
    assert asked["client_id"] == ["demo-portal"] and asked["state"] and asked["nonce"]
    assert asked["redirect_uri"] == [f"{portal}/callback"]
    # The state, nonce and PKCE verifier stay in the portal (Authlib's cache), not the cookie.
    assert set(session_cookie(browser)) == {f"_state_provider_{asked['state'][0]}"}
    assert "code_verifier" not in json.dumps(session_cookie(browser))

    back = vneid_login(browser, portal, "079195000123", "123456")  # Trần Thị Bình
    assert back.status_code == 302 and back.headers["location"].startswith(f"{portal}/callback?")
    page = follow(browser, back)
    assert page.status_code == 200 and str(page.url) == f"{portal}/"
    assert "Xin chào, Trần Thị Bình" in page.text
    assert '<td data-claim="cccd">079195000123</td>' in page.text
    assert f'<strong id="acr">{ACR_LEVEL_2}</strong>' in page.text
    assert '<td data-claim="birthdate">1995-08-23</td>' in page.text
    assert "userinfo-claims" in page.text
    # The cookie holds a random id only; the login stays in the portal.
    assert isinstance(session_cookie(browser)["login"], str)
    assert "079195000123" not in json.dumps(session_cookie(browser))

    logged_out = follow(browser, browser.post(f"{portal}/logout"))
    assert logged_out.status_code == 200 and 'href="/login"' in logged_out.text
    assert "079195000123" not in logged_out.text


def test_a_wrong_pin_keeps_the_citizen_at_vneid(browser: httpx.Client, portal: str) -> None:
    answer = vneid_login(browser, portal, "079195000123", "000000")
    assert answer.status_code == 401 and "mã PIN không đúng" in answer.text
    assert "079195000123" not in browser.get(f"{portal}/").text.split("<main>")[1]


def test_a_forged_callback_is_refused(browser: httpx.Client, portal: str) -> None:
    browser.get(f"{portal}/login")  # a login under way: its state is not this one
    forged = browser.get(f"{portal}/callback", params={"code": "stolen", "state": "forged"})
    assert forged.status_code == 400 and "mismatching_state" in forged.text
    assert 'href="/login"' in browser.get(f"{portal}/").text


def test_the_step_up_button_asks_the_provider_for_a_level(browser: httpx.Client,
                                                         portal: str) -> None:
    home = browser.get(f"{portal}/").text
    assert 'href="/login?acr_values=urn%3Advcid%3Aloa%3A3"' in home
    to_provider = browser.get(f"{portal}/login", params={"acr_values": "urn:dvcid:loa:3"})
    asked = parse_qs(urlsplit(to_provider.headers["location"]).query)
    assert asked["acr_values"] == ["urn:dvcid:loa:3"]


def test_an_id_token_not_signed_by_the_provider_is_refused(browser: httpx.Client, portal: str,
                                                          sandbox: FastAPI) -> None:
    # The portal knows VNeID's key by its kid (JWKS cached by Authlib): an ID token under the
    # same kid signed by another key fails the signature check.
    vneid: VneidProvider = sandbox.state.vneid
    genuine = vneid.signing_key
    first = follow(browser, vneid_login(browser, portal, "048088004567", "123456"))
    assert "Xin chào" in first.text  # and the portal has VNeID's JWKS
    follow(browser, browser.post(f"{portal}/logout"))
    vneid._signing_key = RSAKey.generate_key(2048, parameters={"kid": genuine.kid or "", "alg": "RS256"},
                                             private=True)
    try:
        back = vneid_login(browser, portal, "079195000123", "123456")
        refused = follow(browser, back)
    finally:
        vneid._signing_key = genuine
    assert refused.status_code == 400 and "invalid_id_token: bad_signature" in refused.text
    assert 'href="/login"' in browser.get(f"{portal}/").text  # nobody logged in
