"""The demo portal's back-channel logout (OpenID Connect Back-Channel Logout 1.0): logout tokens
made with joserfc by a stand-in provider (discovery and JWKS served over real HTTP), verified by
the portal against that JWKS; the logins they name end, the others stay. dvcid's real logout
tokens reach the portal in tests/web/test_demo_portal_dvcid_in_browser.py."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey

from sandbox.demo_portal.app import create_app as create_portal
from sandbox.demo_portal.config import DemoPortalSettings
from sandbox.demo_portal.sessions import (
    BACKCHANNEL_LOGOUT_EVENT,
    InvalidLogoutToken,
    Login,
    Logins,
    SeenJtis,
    verify_logout_token,
)
from sandbox.tests.live import served

KEY = ECKey.generate_key("P-256", parameters={"kid": "k1"}, private=True)
OTHER_KEY = ECKey.generate_key("P-256", parameters={"kid": "k1"}, private=True)
ISSUER = "https://op.example.vn"
CLIENT = "dvc-portal"
# What the stand-in provider's JWKS publishes (a test rotates it).
PUBLISHED = [KEY]


def jwks(keys: list[ECKey] | None = None) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) | {"use": "sig", "alg": "ES256"}
                     for key in (keys or [KEY])]}


def logout_token(key: ECKey = KEY, issuer: str = ISSUER, typ: str | None = "logout+jwt",
                 drop: tuple[str, ...] = (), **claims: Any) -> str:
    now = int(time.time())
    body: dict[str, Any] = {"iss": issuer, "aud": CLIENT, "iat": now, "exp": now + 120,
                            "jti": uuid.uuid4().hex, "sub": "sub-1", "sid": "sid-1",
                            "events": {BACKCHANNEL_LOGOUT_EVENT: {}}} | claims
    for name in drop:
        body.pop(name)
    header = {"alg": "ES256", "kid": "k1"} | ({"typ": typ} if typ else {})
    return jwt.encode(header, body, key)


def verify(token: str, seen: SeenJtis | None = None, issuer: str = ISSUER) -> dict[str, Any]:
    return verify_logout_token(token, jwks(), issuer=issuer, client_id=CLIENT,
                               seen=seen or SeenJtis())


def test_a_valid_logout_token_gives_its_claims() -> None:
    claims = verify(logout_token())
    assert claims["sid"] == "sid-1" and claims["sub"] == "sub-1"
    assert verify(logout_token(drop=("sid",)))["sub"] == "sub-1"  # sub alone is enough


@pytest.mark.parametrize(("token", "reason"), [
    (lambda: logout_token(key=OTHER_KEY), "signature"),
    (lambda: "not.a.jwt", "signature"),
    (lambda: logout_token(issuer="https://evil.example"), "claims"),
    (lambda: logout_token(aud="another-client"), "claims"),
    (lambda: logout_token(exp=int(time.time()) - 3600), "claims"),
    (lambda: logout_token(drop=("iat",)), "claims"),
    (lambda: logout_token(drop=("exp",)), "claims"),
    (lambda: logout_token(drop=("jti",)), "claims"),
    (lambda: logout_token(typ="JWT"), "typ"),
    (lambda: logout_token(drop=("events",)), "events"),
    (lambda: logout_token(events={"http://example/other": {}}), "events"),
    (lambda: logout_token(events={BACKCHANNEL_LOGOUT_EVENT: "yes"}), "events"),
    (lambda: logout_token(nonce="n-1"), "nonce"),
    (lambda: logout_token(drop=("sid", "sub")), "sid/sub"),
])
def test_logout_tokens_breaking_a_rule_are_refused(token: Any, reason: str) -> None:
    with pytest.raises(InvalidLogoutToken) as refused:
        verify(token())
    assert refused.value.reason.startswith(reason)


def test_a_logout_token_is_used_once() -> None:
    seen, token = SeenJtis(), logout_token()
    verify(token, seen)
    with pytest.raises(InvalidLogoutToken, match="jti"):
        verify(token, seen)


def test_logins_end_by_sid_or_by_sub() -> None:
    logins = Logins()
    mine = logins.add(Login(claims={"sub": "a", "sid": "s1"}, userinfo={}, id_token=None))
    other_tab = logins.add(Login(claims={"sub": "a", "sid": "s2"}, userinfo={}, id_token=None))
    stranger = logins.add(Login(claims={"sub": "b", "sid": "s3"}, userinfo={}, id_token=None))
    assert logins.end(sid="s1", sub="a") == 1
    assert logins.get(mine) is None and logins.get(other_tab) is not None
    assert logins.end(sid=None, sub="a") == 1  # every login of the subject
    assert logins.get(other_tab) is None and logins.get(stranger) is not None
    assert logins.end(sid="s3", sub="a") == 0  # sid and sub must both match


# -- the route, over HTTP ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    app = FastAPI()
    with served(app) as url:
        @app.get("/.well-known/openid-configuration")
        def metadata() -> dict[str, Any]:
            return {"issuer": url, "authorization_endpoint": f"{url}/authorize",
                    "token_endpoint": f"{url}/token", "jwks_uri": f"{url}/jwks"}

        @app.get("/jwks")
        def keys() -> dict[str, Any]:
            return jwks(PUBLISHED)

        yield url


def test_the_route_ends_the_named_login_once(provider: str) -> None:
    portal = create_portal(DemoPortalSettings(issuer=provider, client_id=CLIENT))
    logins: Logins = portal.state.logins
    ended = logins.add(Login(claims={"sub": "sub-1", "sid": "sid-1"}, userinfo={}, id_token=None))
    kept = logins.add(Login(claims={"sub": "sub-2", "sid": "sid-2"}, userinfo={}, id_token=None))
    with served(portal) as url, httpx.Client(base_url=url, timeout=10) as client:
        token = logout_token(issuer=provider)
        answer = client.post("/backchannel-logout", data={"logout_token": token})
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        assert logins.get(ended) is None and logins.get(kept) is not None
        again = client.post("/backchannel-logout", data={"logout_token": token})
        assert again.status_code == 400 and again.json()["error"] == "invalid_request"
        forged = client.post("/backchannel-logout",
                             data={"logout_token": logout_token(key=OTHER_KEY, issuer=provider,
                                                                sid="sid-2", sub="sub-2")})
        assert forged.status_code == 400 and logins.get(kept) is not None
        assert client.post("/backchannel-logout", data={}).status_code == 422


def test_a_token_signed_by_a_rotated_key_is_verified_after_fetching_the_keys_again(
        provider: str) -> None:
    portal = create_portal(DemoPortalSettings(issuer=provider, client_id=CLIENT))
    logins: Logins = portal.state.logins
    first = logins.add(Login(claims={"sub": "sub-1", "sid": "sid-1"}, userinfo={}, id_token=None))
    second = logins.add(Login(claims={"sub": "sub-9", "sid": "sid-9"}, userinfo={}, id_token=None))
    rotated = ECKey.generate_key("P-256", parameters={"kid": "k2"}, private=True)
    try:
        with served(portal) as url, httpx.Client(base_url=url, timeout=10) as client:
            answer = client.post("/backchannel-logout",
                                 data={"logout_token": logout_token(issuer=provider)})
            assert answer.status_code == 200 and logins.get(first) is None  # keys now cached
            PUBLISHED[:] = [rotated, KEY]
            token = jwt.encode({"alg": "ES256", "kid": "k2", "typ": "logout+jwt"},
                               {"iss": provider, "aud": CLIENT, "iat": int(time.time()),
                                "exp": int(time.time()) + 120,
                                "jti": uuid.uuid4().hex, "sid": "sid-9",
                                "events": {BACKCHANNEL_LOGOUT_EVENT: {}}}, rotated)
            answer = client.post("/backchannel-logout", data={"logout_token": token})
            assert answer.status_code == 200 and logins.get(second) is None
    finally:
        PUBLISHED[:] = [KEY]
