"""Attack: dvcid's authorization endpoint as an open redirector (OAuth 2.0 Security BCP 4.1).

A link to ``/oidc/authorize`` with a registered client but a ``redirect_uri`` that only looks
like the registered one (another path, a query, a fragment, other case, a trailing slash, a
userinfo ``@`` in front of another host, percent-encoded characters) would carry the code, or
at least the browser, to the attacker. Control: the redirect URI must equal a registered one
exactly, byte for byte, checked before anything else; otherwise an error page (400) and never a
redirect (services/oidc/domain/rules.py ``client_uses_redirect``,
services/gateway/oidc.py ``_refused_page``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import test_oidc_e2e as op

pytestmark = pytest.mark.e2e

metadata, portal, person = op.metadata, op.portal, op.person  # the fixtures
REGISTERED = op.REDIRECT  # http://127.0.0.1:9/callback
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # an S256 challenge (RFC 7636 B)

LOOKALIKES = [
    "http://127.0.0.1:9/callback2",  # path
    "http://127.0.0.1:9/callback/../evil",  # path traversal
    "http://127.0.0.1:9/callback?next=https://evil.example/",  # query
    "http://127.0.0.1:9/callback#https://evil.example/",  # fragment
    "http://127.0.0.1:9/Callback",  # case of the path
    "HTTP://127.0.0.1:9/callback",  # case of the scheme
    "http://127.0.0.1:9/callback/",  # trailing slash
    "http://127.0.0.1:9@evil.example/callback",  # userinfo: another host
    "http://evil.example@127.0.0.1:9/callback",  # userinfo before the right host
    "http://127.0.0.1:9/%63allback",  # an encoded letter
    "http://127.0.0.1:9/callback%2F..%2F..%2Fevil",  # encoded slashes
    "http%3A%2F%2F127.0.0.1%3A9%2Fcallback",  # the whole URI encoded once more
    "http://127.0.0.1:9/callback%00",  # a NUL
    "https://127.0.0.1:9/callback",  # another scheme
    "http://127.0.0.1:90/callback",  # another port
    "//evil.example/callback",  # scheme-relative
]


@pytest.mark.parametrize("redirect_uri", LOOKALIKES)
def test_a_lookalike_redirect_uri_gets_an_error_page_never_a_redirect(
        metadata: dict[str, Any], portal: op.Portal, person: op.Person,
        redirect_uri: str) -> None:
    assert redirect_uri != REGISTERED
    url = op.authorize_query(portal, redirect_uri=redirect_uri, code_challenge=CHALLENGE,
                             code_challenge_method="S256")
    response = person.browser.get(url, follow_redirects=False)
    assert response.status_code == 400, response.headers.get("location")
    assert "location" not in response.headers
    assert "text/html" in response.headers["content-type"]
    assert "code=" not in response.text


def test_the_registered_uri_itself_is_redirected_to(
        metadata: dict[str, Any], portal: op.Portal, person: op.Person) -> None:
    """The control of the list above: the exact URI works."""
    started = op.start(portal, metadata)
    assert op.back_at_portal(person, started.url).startswith(REGISTERED + "?")
