"""The demo client portal and the sandbox's VNeID in a real browser (Debian's chromium), without
the rest of the stack: both apps served on loopback, the citizen logs in to the portal with
their CCCD and VNeID PIN, sees the claims and ``acr``, and logs out. Every page is checked
(``check_page``: labels, axe-core, phone width) and photographed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dvcid.servers import free_port
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxSettings, VneidClientSettings
from sandbox.demo_portal.app import create_app as create_portal
from sandbox.demo_portal.config import DemoPortalSettings
from sandbox.tests.live import served
from sandbox.vneid.provider import ACR_LEVEL_2
from tests.web.conftest import check_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The demo portal (registered with the sandbox's VNeID), instead of the e2e stack."""
    sandbox_port, portal_port = free_port(), free_port()
    portal_url = f"http://127.0.0.1:{portal_port}"
    client = VneidClientSettings(client_id="demo-portal", client_secret="browser-test-secret",
                                 redirect_uris=(f"{portal_url}/callback",),
                                 name="Cổng dịch vụ công tỉnh mẫu")
    sandbox = create_sandbox(SandboxSettings(sandbox_port=sandbox_port,
                                             vneid_extra_clients=(client,)))
    portal = create_portal(DemoPortalSettings(
        port=portal_port, issuer=f"http://127.0.0.1:{sandbox_port}/vneid",
        client_id="demo-portal", client_secret="browser-test-secret",
        scope="openid profile cccd"))
    with served(sandbox, sandbox_port), served(portal, portal_port):
        yield portal_url


async def test_a_citizen_logs_in_to_the_demo_portal_with_vneid(context: Any) -> None:
    page = await context.new_page()
    await page.goto("/")
    await check_page(page, "demo-portal-home")
    await page.get_by_role("link", name="Đăng nhập", exact=True).click()
    await page.get_by_label("Số định danh cá nhân (CCCD)").wait_for()
    await check_page(page, "vneid-login")

    await page.get_by_label("Số định danh cá nhân (CCCD)").fill("048088004567")
    await page.get_by_label("Mã PIN VNeID").fill("000000")
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.get_by_role("alert").wait_for()
    await check_page(page, "vneid-login-wrong-pin")

    await page.get_by_label("Mã PIN VNeID").fill("123456")
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.get_by_role("heading", name="Xin chào, Lê Hoàng Cường").wait_for()
    assert await page.locator("#acr").inner_text() == ACR_LEVEL_2
    assert await page.locator('#id-token-claims [data-claim="cccd"]').inner_text() == "048088004567"
    await check_page(page, "demo-portal-logged-in")

    await page.get_by_role("button", name="Đăng xuất").click()
    await page.get_by_role("link", name="Đăng nhập", exact=True).wait_for()
    assert "048088004567" not in await page.content()
