"""Đăng nhập bằng VNeID end to end (issue 15): the whole stack as processes, the sandbox's VNeID
(an OpenID Provider in the sandbox app), and an httpx client as the browser: the login page's
button, VNeID's PIN screen, the callback, profile's decision (tests/vneid_journeys.py).

Covered: an existing account proves itself once (password + OTP) and is linked, later logins
go straight in (level 2, method ``vneid``, in the login history); no account of the CCCD: one
is made at level 2 (registration's method ``vneid``) and VNeID logs in; the API takes no VNeID
registration; cancelling at VNeID. The attacks (another CCCD, forged or foreign callbacks,
claims in the query) are in tests/security/test_vneid_*.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from dvcid.devstack import DevStack
from tests.journeys import login, new_citizen, step_up
from tests.test_oidc_e2e import agreed
from tests.vneid_journeys import (
    at_vneid,
    csrf_of,
    follow,
    me,
    methods,
    prove_by_password,
    registered,
    vneid_login,
    with_vneid,
)

with warnings.catch_warnings():  # Authlib prefers httpx2 and warns when it runs on httpx
    warnings.simplefilter("ignore")
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import OAuth2Client

pytestmark = pytest.mark.e2e

PORTAL_REDIRECT = "http://127.0.0.1:9/callback"  # never fetched: the test reads the Location


def test_an_existing_account_proves_itself_once_then_vneid_logs_straight_in(
        stack: DevStack, api: httpx.Client) -> None:
    citizen = registered(api)
    with_vneid(api, citizen)
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        page = vneid_login(browser, citizen.id_number)
        assert page.status_code == 200 and str(page.url).endswith("/vneid/lien-ket")
        assert "Liên kết tài khoản với VNeID" in page.text
        assert "dvcid_session" not in browser.cookies  # nothing opened before the proof
        assert "dvcid_web_vneid" not in browser.cookies  # the login's state: used once
        page = prove_by_password(browser, api, citizen, page)
        linked = follow(browser, browser.post("/vneid/lien-ket", data={
            "csrf_token": csrf_of(page, "/vneid/lien-ket")}, follow_redirects=False))
        assert linked.status_code == 200 and "Đã liên kết tài khoản với VNeID" in linked.text
        assert "dvcid_web_vneid_claims" not in browser.cookies
        assert [m["type"] for m in methods(browser)].count("vneid") == 1

    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        home = vneid_login(browser, citizen.id_number)
        assert home.status_code == 200 and str(home.url).endswith("/tai-khoan")
        account = me(browser)
        assert account["identity"]["id_number"] == citizen.id_number  # type: ignore[index]
        logins = browser.get("/api/v1/me/logins").json()
        newest = (logins["items"] if isinstance(logins, dict) else logins)[0]
        assert newest["method"] == "vneid" and newest["result"] in ("success", "succeeded")
        sessions = browser.get("/api/v1/me/sessions").json()
        current = next(s for s in (sessions["items"] if isinstance(sessions, dict) else sessions)
                       if s["current"])
        assert (current["level"], current["method"]) == (2, "vneid")

    # Removable like the others (after a step-up, as any method): with password + OTP left,
    # the link goes, and VNeID asks for the proof again.
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        session = login(api, citizen)
        step_up(api, citizen, session)
        browser.headers["Authorization"] = f"Bearer {session['session_token']}"
        vneid = next(m for m in methods(browser) if m["type"] == "vneid")
        removed = browser.delete(f"/api/v1/me/auth-methods/{vneid['id']}")
        assert removed.status_code == 204, removed.text
        assert "vneid" not in [m["type"] for m in methods(browser)]
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        assert str(vneid_login(browser, citizen.id_number).url).endswith("/vneid/lien-ket")


def test_no_account_of_the_cccd_offers_one_at_level_2_then_vneid_logs_in(
        stack: DevStack, api: httpx.Client) -> None:
    citizen = new_citizen(sex="female", year=1995)
    with_vneid(api, citizen)
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        page = vneid_login(browser, citizen.id_number)
        assert page.status_code == 200 and str(page.url).endswith("/vneid/dang-ky")
        assert "Chưa có tài khoản của số định danh này" in page.text
        assert "dvcid_session" not in browser.cookies  # nothing made before the person asks
        home = follow(browser, browser.post("/vneid/dang-ky", data={
            "csrf_token": csrf_of(page, "/vneid/dang-ky"), "email": ""},
            follow_redirects=False))
        assert home.status_code == 200 and "Đã tạo tài khoản bằng VNeID" in home.text
        account = me(browser)
        assert account["level"] == 2
        identity = account["identity"]
        assert isinstance(identity, dict)
        assert (identity["id_number"], identity["full_name"], identity["birth_date"]) == (
            citizen.id_number, citizen.full_name, citizen.birth_date)
        assert [m["type"] for m in methods(browser)] == ["vneid"]
        assert "dvcid_web_vneid_claims" not in browser.cookies
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        home = vneid_login(browser, citizen.id_number)  # straight in, from now on
        assert str(home.url).endswith("/tai-khoan") and me(browser)["level"] == 2


def test_the_api_takes_no_vneid_registration(api: httpx.Client) -> None:
    """Claims come only from a verified ID token: no HTTP body starts a VNeID registration."""
    citizen = new_citizen()
    answer = api.post("/api/v1/registrations", json={
        "subject_type": "citizen", "method": "vneid", "vneid_sub": "x",
        "id_number": citizen.id_number, "full_name": citizen.full_name,
        "birth_date": citizen.birth_date, "sex": citizen.sex})
    assert answer.status_code == 422


def test_cancelling_at_vneid_says_so(stack: DevStack, api: httpx.Client) -> None:
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        screen = at_vneid(browser)
        action = unescape(re.search(r'<form method="post" action="([^"]+)"', screen.text)[1])  # type: ignore[index]
        back = browser.post(str(screen.url.join(action)), data={"decision": "cancel"})
        page = follow(browser, back)
        assert page.status_code == 400 and "Bạn đã hủy đăng nhập bằng VNeID" in page.text


def test_a_portal_sends_a_citizen_through_vneid_and_gets_the_code(
        stack: DevStack, api: httpx.Client) -> None:
    """Single sign-on (docs/oidc.md) with VNeID as the way in: a portal's authorization
    request sends the browser to the login page, "Đăng nhập bằng VNeID" makes the account
    (none yet), and the browser is back at the portal with a code worth a level-2 ID token."""
    made = subprocess.run(
        [sys.executable, "-m", "dvcid.cli", "admin", "create-client", "--name",
         "Cổng DVC thử VNeID", "--redirect-uri", PORTAL_REDIRECT],
        env=os.environ | {"DVCID_NATS_URL": stack.nats_url,
                          "DVCID_NATS_NKEY_SEED_FILE": stack.nats_seed("operator")},
        capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    portal = dict(line.split(": ", 1) for line in made.stdout.splitlines())
    metadata = api.get("/.well-known/openid-configuration").json()
    client = OAuth2Client(portal["client_id"], portal["client_secret"], scope="openid profile",
                          redirect_uri=PORTAL_REDIRECT, code_challenge_method="S256",
                          token_endpoint_auth_method="client_secret_basic", timeout=30)
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = client.create_authorization_url(metadata["authorization_endpoint"],
                                                 nonce=nonce, code_verifier=verifier)
    citizen = new_citizen(sex="female", year=1993)
    with_vneid(api, citizen)
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        sent = browser.get(url)
        assert sent.status_code == 302 and sent.headers["location"] == "/dang-nhap?tb=sso"
        page = vneid_login(browser, citizen.id_number)
        assert str(page.url).endswith("/vneid/dang-ky")
        made_account = browser.post("/vneid/dang-ky", data={
            "csrf_token": csrf_of(page, "/vneid/dang-ky")})
        assert made_account.status_code == 303
        # dvcid's page that sends the browser on to the kept authorization request.
        onward = browser.get(made_account.headers["location"])
        assert onward.status_code == 200, onward.text
        target = unescape(re.search(r'href="(/oidc/authorize\?[^"]+)"', onward.text)[1])  # type: ignore[index]
        # The first time this account meets the portal: the consent page, "Đồng ý".
        resumed = agreed(browser, browser.get(target))
        assert resumed.status_code in (302, 303), resumed.text
        location = resumed.headers["location"]
        assert location.startswith(PORTAL_REDIRECT + "?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["state"] == state and query["code"]
    token = client.fetch_token(metadata["token_endpoint"], authorization_response=location,
                               state=state, code_verifier=verifier)
    userinfo = client.get(metadata["userinfo_endpoint"]).json()
    assert userinfo["name"] == citizen.full_name and token["id_token"]


def test_cancelling_the_link_forgets_the_verified_claims(stack: DevStack, api: httpx.Client) -> None:
    citizen = registered(api)
    with_vneid(api, citizen)
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        page = vneid_login(browser, citizen.id_number)
        assert "dvcid_web_vneid_claims" in browser.cookies
        gone = browser.post("/vneid/lien-ket/huy", data={
            "csrf_token": csrf_of(page, "/vneid/lien-ket/huy")}, follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"] == "/dang-nhap"
        assert "dvcid_web_vneid_claims" not in browser.cookies
        assert browser.get("/vneid/lien-ket").status_code == 404  # nothing left to link
