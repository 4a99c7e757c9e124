"""Attack: logout CSRF at dvcid's ``end_session_endpoint`` (OpenID Connect RP-Initiated
Logout 1.0, 2 and 6).

A hostile page makes the citizen's browser GET ``/oidc/logout`` (an image, a link, a
redirect) to end the dvcid session, and with it every portal's tokens and sessions (a nuisance,
and a way to push the citizen through a login the attacker watches). Control: without an
``id_token_hint`` dvcid signed naming this browser's account, the session ends only after the
person confirms on a page whose form carries a CSRF token; a forged hint is an error page; the
attacker's own (valid) ID token names another account, so the person is asked too
(services/oidc/handlers.py ``end_session``).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dvcid.devstack import DevStack
from tests import test_oidc_e2e as op

pytestmark = pytest.mark.e2e

metadata, logout_portal = op.metadata, op.logout_portal  # the fixtures


def test_a_cross_site_logout_link_ends_nothing_without_confirmation(
        stack: DevStack, api: httpx.Client, metadata: dict[str, Any],
        logout_portal: op.Portal) -> None:
    victim, token = op.fresh_person(stack, api)
    attacker, _ = op.fresh_person(stack, api)
    with attacker.browser:  # the attacker's own ID token, valid but naming the attacker
        started = op.start(logout_portal, metadata)
        own = op.fetch(started, metadata, op.back_at_portal(attacker, started.url))
    with victim.browser as browser:
        cross_site = {"Referer": "https://evil.example/", "Sec-Fetch-Site": "cross-site"}
        for params in ({},
                       {"client_id": logout_portal.client_id,
                        "post_logout_redirect_uri": op.AFTER_LOGOUT},
                       {"id_token_hint": own["id_token"]}):
            page = browser.get("/oidc/logout", params=params, headers=cross_site,
                               follow_redirects=False)
            assert page.status_code == 200 and "location" not in page.headers  # asks first
            assert op.session_alive(api, token)
        header, payload, signature = own["id_token"].split(".")
        forged = f"{header}.{payload}.{('A' if signature[0] != 'A' else 'B') + signature[1:]}"
        refused = browser.get("/oidc/logout", params={"id_token_hint": forged},
                              headers=cross_site, follow_redirects=False)
        assert refused.status_code == 400 and "location" not in refused.headers
        # The confirmation form itself, posted without this browser's CSRF token.
        posted = browser.post("/oidc/logout/xac-nhan", headers=cross_site,
                              data={"client_id": logout_portal.client_id},
                              follow_redirects=False)
        assert posted.status_code in (400, 403) and "location" not in posted.headers
        assert op.session_alive(api, token)
