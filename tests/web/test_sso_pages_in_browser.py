"""dvcid as an OpenID Provider in a real browser (docs/oidc.md): a portal sends a citizen with
no session to dvcid; the login page says why, the citizen logs in with password and OTP and the
browser lands back at the portal with a code; later the portal asks for a logout without an ID
token, and dvcid asks the citizen to confirm. Between them, the consent page ("Đồng ý") and the
account page "Ứng dụng đã kết nối" ("Thu hồi"). Every page passes check_page (axe-core, labels,
phone width); screenshots in test-output/screenshots/ (sso-login-*, sso-consent-*,
sso-connected-apps-*, sso-logout-*)."""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from dvcid.devstack import DevStack
from tests.journeys import client_ip, new_citizen, register
from tests.test_oidc_e2e import admin
from tests.web.conftest import check_page, new_context
from tests.web.test_journeys_in_browser import next_otp_from_the_sandbox_page, submit

pytestmark = pytest.mark.e2e

class PortalPage(BaseHTTPRequestHandler):
    """The portal's side, as far as a browser sees it: any page, 200."""

    def do_GET(self) -> None:
        body = '<!doctype html><html lang="vi"><title>Cổng</title><h1>Cổng</h1></html>'.encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def portal_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PortalPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_a_portal_signs_a_citizen_in_and_out_through_the_pages(
        stack: DevStack, api: httpx.Client, browser: Any, base_url: str, portal_site: str) -> None:
    PORTAL = portal_site
    made = admin(stack, "create-client", "--name", "Cổng DVC Hải Phòng",
                 "--redirect-uri", f"{PORTAL}/callback",
                 "--post-logout-redirect-uri", f"{PORTAL}/logged-out")
    citizen = new_citizen(year=1979)
    register(api, citizen)
    api.cookies.clear()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    authorize = "/oidc/authorize?" + urlencode({
        "client_id": made["client_id"], "redirect_uri": f"{PORTAL}/callback",
        "response_type": "code", "scope": "openid profile", "state": "st-hp", "nonce": "n-hp",
        "code_challenge": challenge.rstrip("="), "code_challenge_method": "S256"})
    context = await new_context(browser, base_url,
                                extra_http_headers=client_ip(f"sso-{random.random()}"))
    try:
        page = await context.new_page()
        await page.goto(authorize)
        assert urlsplit(page.url).path == "/dang-nhap"
        await page.get_by_text("tiếp tục vào cổng dịch vụ công").wait_for()
        await check_page(page, "sso-login")
        await page.get_by_label("Tên đăng nhập").fill(citizen.id_number)
        await page.locator("#f-password").fill("Hoa-Sen#2026vn")
        await submit(page, "Đăng nhập")
        await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, citizen))
        await page.locator("main").get_by_role("button", name="Xác nhận").click()
        # "Đăng nhập thành công", then on by itself (a meta refresh) to the consent page: the
        # first time this account meets the portal, it names the portal and the data.
        await page.get_by_role("heading", name="Chia sẻ thông tin với ứng dụng").wait_for()
        main = await page.locator("main").inner_text()
        assert "Cổng DVC Hải Phòng" in main and "Họ tên, ngày sinh, giới tính" in main
        assert "Số điện thoại" not in main  # not asked (scope openid profile)
        await check_page(page, "sso-consent")
        # "Đồng ý": the form's redirect ends at the portal (its origin allowed by the CSP).
        async with page.expect_navigation(url=f"{PORTAL}/callback**"):
            await page.locator("main").get_by_role("button", name="Đồng ý").click()
        answer = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
        assert answer["state"] == "st-hp" and answer["code"] and answer["iss"] == base_url

        # Ứng dụng đã kết nối: the portal, the data it gets, and "Thu hồi".
        await page.goto("/tai-khoan")
        await page.get_by_role("link", name="Ứng dụng đã kết nối").click()
        await page.get_by_role("heading", name="Ứng dụng đã kết nối").wait_for()
        row = await page.locator("main table").inner_text()
        assert "Cổng DVC Hải Phòng" in row and "Họ tên, ngày sinh, giới tính" in row
        await check_page(page, "sso-connected-apps")
        await page.get_by_role("button", name="Thu hồi quyền của Cổng DVC Hải Phòng").click()
        await page.get_by_text("Đã thu hồi quyền của ứng dụng").wait_for()
        assert "Chưa có ứng dụng nào được kết nối." in await page.locator("main").inner_text()

        await page.goto("/oidc/logout?" + urlencode({
            "client_id": made["client_id"], "post_logout_redirect_uri": f"{PORTAL}/logged-out",
            "state": "bye"}))
        await page.get_by_role("heading", name="Đăng xuất").wait_for()
        assert "Cổng DVC Hải Phòng" in await page.locator("main").inner_text()
        await check_page(page, "sso-logout")
        async with page.expect_navigation(url=f"{PORTAL}/logged-out**"):
            await page.locator("main").get_by_role("button", name="Đăng xuất").click()
        assert page.url == f"{PORTAL}/logged-out?state=bye"
        assert "dvcid_session" not in {c["name"] for c in await context.cookies(base_url)}
    finally:
        await context.close()
