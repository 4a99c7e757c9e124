"""Attack: a forged or foreign callback to ``/vneid/callback`` (issue 15).

A callback whose ``state`` is not the one this browser's login began is refused
(``mismatching_state``), and the attacker's own callback URL (code and state) opened in a
victim's browser (login CSRF: the victim would be logged in as the attacker) finds no state
there: nothing is exchanged, no session, no claims kept. Control: Authlib's state data lives
in a signed, HttpOnly, short-lived cookie of the browser that began the login
(docs/external/vneid.md, docs/security/threat-model.md).
"""

from __future__ import annotations

import re

import httpx
import pytest

from dvcid.devstack import DevStack
from tests.vneid_journeys import at_vneid, pin_screen, registered, with_vneid

pytestmark = pytest.mark.e2e


def test_a_callback_with_a_forged_state_is_refused(stack: DevStack, api: httpx.Client) -> None:
    citizen = registered(api)
    with_vneid(api, citizen)
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        callback = pin_screen(browser, at_vneid(browser), citizen.id_number)
        location = callback.headers["location"]
        forged = re.sub(r"state=[^&]+", "state=forged-state", location)
        refused = browser.get(forged)
        assert refused.status_code == 400 and "không hợp lệ" in refused.text
        assert "dvcid_session" not in browser.cookies


def test_a_callback_in_another_browser_is_refused(stack: DevStack, api: httpx.Client) -> None:
    """Login CSRF: the attacker's own callback URL (code and state) opened in the victim's
    browser finds no state there: nothing happens."""
    citizen = registered(api)
    with_vneid(api, citizen)
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as attacker:
        callback = pin_screen(attacker, at_vneid(attacker), citizen.id_number)
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as victim:
        refused = victim.get(callback.headers["location"])
        assert refused.status_code == 400
        assert "dvcid_session" not in victim.cookies and "dvcid_web_vneid_claims" not in victim.cookies
