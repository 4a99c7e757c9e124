"""Attack: a VNeID identity opens, or is linked to, the account of another person (issue 15).

A browser that VNeID verified as person A proves person B's account (B's password and OTP) and
asks to link: refused (``forbidden``), nothing linked, A's login still asks for A's own proof.
Claims added to the callback's query (another CCCD, another ``sub``) count for nothing: only
the verified ID token's claims reach profile. Control: profile links only the account whose
identity key is the token's CCCD (one conditional update), the gateway reads claims from the
ID token Authlib verified (docs/security/threat-model.md).
"""

from __future__ import annotations

import httpx
import pytest

from dvcid.devstack import DevStack
from tests.journeys import STRONG_PASSWORD, new_citizen, next_otp
from tests.vneid_journeys import (
    at_vneid,
    csrf_of,
    follow,
    methods,
    pin_screen,
    registered,
    vneid_login,
    with_vneid,
)

pytestmark = pytest.mark.e2e


def test_a_vneid_identity_is_never_linked_to_an_account_of_another_cccd(
        stack: DevStack, api: httpx.Client) -> None:
    owner = registered(api)
    other = registered(api)
    with_vneid(api, owner)
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        page = vneid_login(browser, owner.id_number)
        assert str(page.url).endswith("/vneid/lien-ket")
        # The browser proves ANOTHER account (the other person's password and OTP) ...
        login_page = browser.get("/dang-nhap?tb=vneid-lien-ket")
        browser.post("/dang-nhap", data={
            "csrf_token": csrf_of(login_page, "/dang-nhap"), "tab": "cccd",
            "username": other.id_number, "password": STRONG_PASSWORD})
        otp_page = browser.get("/dang-nhap/otp")
        browser.post("/dang-nhap/otp", data={
            "csrf_token": csrf_of(otp_page, "/dang-nhap/otp"), "code": next_otp(api, other)})
        page = browser.get("/vneid/lien-ket")
        refused = browser.post("/vneid/lien-ket", data={
            "csrf_token": csrf_of(page, "/vneid/lien-ket")})
        # ... and the link is refused: that account is not the CCCD VNeID named.
        assert refused.status_code == 403 and "Không liên kết được" in refused.text
        assert "vneid" not in [m["type"] for m in methods(browser)]
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        again = vneid_login(browser, owner.id_number)
        assert str(again.url).endswith("/vneid/lien-ket")  # still unlinked
        assert "dvcid_session" not in browser.cookies


def test_claims_in_the_query_count_for_nothing(stack: DevStack, api: httpx.Client) -> None:
    """The callback takes its claims from the verified ID token alone: a ``cccd`` or ``sub``
    added to the query does not change whose account it is."""
    citizen = registered(api)
    stranger = new_citizen()
    with_vneid(api, stranger)
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        callback = pin_screen(browser, at_vneid(browser), stranger.id_number)
        tampered = f"{callback.headers['location']}&cccd={citizen.id_number}&sub=x"
        page = follow(browser, browser.get(tampered))
        assert str(page.url).endswith("/vneid/dang-ky")  # the stranger's CCCD: no account
        assert "dvcid_session" not in browser.cookies
