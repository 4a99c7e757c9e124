"""Consent and "Ứng dụng đã kết nối" end to end (docs/oidc.md): the whole stack, real HTTP,
Authlib as the portal. The consent page names the portal and the data; "Từ chối" answers
``access_denied`` (with state and iss), "Đồng ý" is remembered per account, portal and data;
``prompt=consent`` asks again, ``prompt=none`` without a consent is ``consent_required``; the
form is CSRF-checked and bound to the request and the browser's session; revoking on the
account page ends the portal's tokens."""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dvcid.devstack import DevStack
from tests.test_oidc_e2e import (
    REDIRECT,
    Person,
    Portal,
    admin,
    agreed,
    answer,
    csrf_of,
    fetch,
    fresh_person,
    metadata,
    start,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.integrations.base_client.errors import OAuthError

pytestmark = pytest.mark.e2e
__all__ = ["metadata"]  # the fixture, shared with test_oidc_e2e.py
NAME = "Cổng DVC Cần Thơ"


@pytest.fixture(scope="module")
def portal(stack: DevStack) -> Portal:
    made = admin(stack, "create-client", "--name", NAME, "--redirect-uri", REDIRECT)
    return Portal(made["client_id"], made["client_secret"])


@pytest.fixture
def person(stack: DevStack, api: httpx.Client) -> Iterator[Person]:
    someone, _ = fresh_person(stack, api)
    with someone.browser:
        yield someone


def test_the_consent_page_asks_once_and_a_refusal_is_access_denied(
        metadata: dict[str, Any], portal: Portal, person: Person) -> None:
    started = start(portal, metadata)
    page = person.browser.get(started.url, follow_redirects=False)
    assert page.status_code == 200 and NAME in page.text
    for words in ("Họ tên, ngày sinh, giới tính", "Số điện thoại", "Thư điện tử",
                  "Số định danh / mã số thuế, mã cơ quan", "Đồng ý", "Từ chối"):
        assert words in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    refused = agreed(person.browser, page, decision="tu-choi")
    assert refused.status_code == 303
    said = answer(refused.headers["location"])
    assert said["error"] == "access_denied" and said["state"] == started.state
    assert said["iss"] == metadata["issuer"] and "code" not in said
    # Nothing remembered: asked again; "Đồng ý" gives the code, and the portal its tokens.
    again = start(portal, metadata)
    back = agreed(person.browser, person.browser.get(again.url, follow_redirects=False))
    assert back.status_code == 303 and back.headers["location"].startswith(REDIRECT + "?")
    token = fetch(again, metadata, back.headers["location"])
    assert token["scope"] == "openid profile phone email vn_identity"
    # Remembered: the next sign-in goes straight back to the portal.
    third = start(portal, metadata)
    direct = person.browser.get(third.url, follow_redirects=False)
    assert direct.status_code == 302 and "code" in answer(direct.headers["location"])
    # prompt=consent asks again.
    forced = person.browser.get(start(portal, metadata).url + "&prompt=consent",
                                follow_redirects=False)
    assert forced.status_code == 200 and "Đồng ý" in forced.text


def test_prompt_none_without_consent_is_consent_required_and_more_data_asks_again(
        metadata: dict[str, Any], portal: Portal, person: Person) -> None:
    started = start(portal, metadata)
    silent = person.browser.get(started.url + "&prompt=none", follow_redirects=False)
    said = answer(silent.headers["location"])
    assert said["error"] == "consent_required" and said["state"] == started.state
    narrow = start(portal, metadata)
    url = narrow.url.replace("scope=openid+profile+phone+email+vn_identity", "scope=openid+profile")
    assert url != narrow.url
    page = person.browser.get(url, follow_redirects=False)
    assert "Họ tên, ngày sinh, giới tính" in page.text and "Số điện thoại" not in page.text
    assert agreed(person.browser, page).status_code == 303
    wider = person.browser.get(start(portal, metadata).url, follow_redirects=False)
    assert wider.status_code == 200 and "Số điện thoại" in wider.text  # more data: asked again


def test_the_consent_form_is_bound_to_its_request_and_browser(
        stack: DevStack, api: httpx.Client, metadata: dict[str, Any], portal: Portal,
        person: Person) -> None:
    page = person.browser.get(start(portal, metadata).url, follow_redirects=False)
    fields = {name: html.unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text)}
    # No CSRF token: refused.
    no_csrf = person.browser.post("/oidc/dong-y", data={
        k: v for k, v in fields.items() if k != "csrf_token"} | {"decision": "dong-y"},
        follow_redirects=False)
    assert no_csrf.status_code == 403
    # The answer moved onto another request (another portal's state): refused.
    other = start(portal, metadata).url.removeprefix(stack.gateway_url)
    moved = person.browser.post("/oidc/dong-y", data=fields | {"target": other,
                                                              "decision": "dong-y"},
                                follow_redirects=False)
    assert moved.status_code == 400 and "location" not in moved.headers
    # Another person's browser (its own session and CSRF cookie) cannot use this form.
    stranger, _ = fresh_person(stack, api)
    with stranger.browser:
        theirs = stranger.browser.get(start(portal, metadata).url, follow_redirects=False)
        stolen = stranger.browser.post("/oidc/dong-y", data=fields | {
            "csrf_token": csrf_of(theirs, "/oidc/dong-y"),
            "decision": "dong-y"}, follow_redirects=False)
        assert stolen.status_code in (400, 403) and "location" not in stolen.headers


def test_connected_apps_lists_the_portal_and_revoking_ends_its_tokens(
        metadata: dict[str, Any], portal: Portal, person: Person) -> None:
    empty = person.browser.get("/tai-khoan/ung-dung")
    assert empty.status_code == 200 and "Chưa có ứng dụng nào được kết nối." in empty.text
    started = start(portal, metadata)
    back = agreed(person.browser, person.browser.get(started.url, follow_redirects=False))
    token = fetch(started, metadata, back.headers["location"])
    assert started.client.get(metadata["userinfo_endpoint"]).status_code == 200
    page = person.browser.get("/tai-khoan/ung-dung")
    assert NAME in page.text and "Số định danh / mã số thuế, mã cơ quan" in page.text
    assert 'aria-current="page"' in page.text
    revoked = person.browser.post("/tai-khoan/ung-dung/thu-hoi", data={
        "csrf_token": csrf_of(page, "/tai-khoan/ung-dung/thu-hoi"),
        "client_id": portal.client_id}, follow_redirects=False)
    assert revoked.status_code == 303
    after = person.browser.get(revoked.headers["location"])
    assert "Đã thu hồi quyền của ứng dụng" in after.text and NAME not in after.text
    assert started.client.get(metadata["userinfo_endpoint"]).status_code == 401
    with pytest.raises(OAuthError) as refused:
        started.client.refresh_token(metadata["token_endpoint"],
                                     refresh_token=token["refresh_token"])
    assert refused.value.error == "invalid_grant"
    # The portal must ask again.
    asked = person.browser.get(start(portal, metadata).url, follow_redirects=False)
    assert asked.status_code == 200 and "Đồng ý" in asked.text
