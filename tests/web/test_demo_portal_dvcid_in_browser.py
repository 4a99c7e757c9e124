"""A second portal logs a citizen in through dvcid, in a real browser (Debian's chromium): the
demo client portal that `dvcid dev` runs (sandbox/demo_portal, Authlib's Starlette client,
registered by `dvcid admin create-client` with a back-channel logout URI) and dvcid's own pages.

The citizen (registered through the API, with a Sim ký số added to the account) clicks "Đăng
nhập bằng tài khoản Cổng DVCQG", logs in at dvcid with password and OTP (and agrees on the
consent page when there is one), and is back at the portal at level 2; "Nâng mức xác thực"
asks for level 3, dvcid asks for the Sim ký số (approved on the sandbox page) and the portal
shows level 3; then logging out at dvcid ends the portal's session by back-channel (the
portal's page, reloaded, shows nobody logged in). Every page passes check_page; screenshots
in test-output/screenshots/ (demo-dvcid-*)."""

from __future__ import annotations

import asyncio
import random
import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from dvcid.devstack import DevStack
from tests.journeys import API, Citizen, client_ip, flow_headers, login, new_citizen, register, step_up
from tests.test_usb_sim_e2e import add_sim, new_phone
from tests.web.conftest import check_page, new_context
from tests.web.test_journeys_in_browser import next_otp_from_the_sandbox_page, submit
from tests.web.test_signature_journeys_in_browser import (
    SIM_PIN,
    approve_on_the_sandbox_page,
    local,
)

pytestmark = pytest.mark.e2e

LEVEL_2, LEVEL_3 = "urn:dvcid:loa:2", "urn:dvcid:loa:3"


def citizen_with_a_sim(api: httpx.Client) -> tuple[Citizen, str]:
    """A citizen registered through the API (password + OTP), with a Sim ký số of their own
    added from "Các phương thức xác thực" (the SIM approved on the 'phone')."""
    citizen = new_citizen(year=1986)
    register(api, citizen)
    session = login(api, citizen)
    step_up(api, citizen, session)
    phone = new_phone()
    add_sim(api, phone, id_number=citizen.id_number, full_name=citizen.full_name, pin=SIM_PIN)
    bearer = {"Authorization": f"Bearer {session['session_token']}"}
    response = api.post(f"{API}/me/auth-methods", headers=bearer,
                        json={"type": "sim", "phone": local(phone)})
    assert response.status_code == 201, response.text
    flow = response.json()
    assert api.get(f"{API}/dev/sim/{phone}").json()["verification_code"] == flow["verification_code"]
    response = api.post(f"{API}/dev/sim/{phone}/approve", json={"pin": SIM_PIN})
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 20
    while True:
        view = api.get(f"{API}/me/auth-methods/flows/{flow['id']}",
                       headers=bearer | flow_headers(flow)).json()
        if view["status"] != "awaiting_signature" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert view["status"] == "completed", view
    api.cookies.clear()
    return citizen, phone


async def back_at_the_portal(page: Any, portal: str) -> None:
    """After a login at dvcid: on to the portal, through the consent page if dvcid asks."""
    consent = page.get_by_role("button", name="Đồng ý")
    deadline = time.monotonic() + 20
    while not page.url.startswith(portal):
        if await consent.count():
            await check_page(page, "demo-dvcid-dong-y")
            await consent.click()
        assert time.monotonic() < deadline, page.url
        await asyncio.sleep(0.1)
    await page.get_by_role("heading", name=re.compile("Xin chào")).wait_for()


async def log_in_with_password(page: Any, context: Any, citizen: Citizen, portal: str,
                               base_url: str, screenshot: str | None = None) -> None:
    """From the portal's login button, through dvcid's password + OTP login, back."""
    async with page.expect_navigation(url=re.compile(r".*/dang-nhap.*")):
        await page.get_by_role("link", name="Đăng nhập bằng tài khoản Cổng DVCQG").click()
    assert page.url.startswith(base_url)
    await page.get_by_text("tiếp tục vào cổng dịch vụ công").wait_for()
    if screenshot:
        await check_page(page, screenshot)
    await page.get_by_label("Tên đăng nhập").fill(citizen.id_number)
    await page.locator("#f-password").fill("Hoa-Sen#2026vn")
    await submit(page, "Đăng nhập")
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, citizen))
    await page.locator("main").get_by_role("button", name="Xác nhận").click()
    await back_at_the_portal(page, portal)


async def test_the_demo_portal_logs_a_citizen_in_steps_up_and_is_logged_out_everywhere(
        stack: DevStack, api: httpx.Client, browser: Any, base_url: str) -> None:
    portal = stack.demo_portal_url
    citizen, phone = citizen_with_a_sim(api)
    context = await new_context(browser, base_url,
                                extra_http_headers=client_ip(f"demo-{random.random()}"))
    try:
        page = await context.new_page()
        await page.goto(f"{portal}/")
        await check_page(page, "demo-dvcid-cong-tinh")
        await log_in_with_password(page, context, citizen, portal, base_url,
                                   screenshot="demo-dvcid-dang-nhap")
        assert await page.locator("#acr").inner_text() == LEVEL_2
        assert await page.locator("#id-token-claims [data-claim='iss']").inner_text() == base_url
        assert await page.locator("#id-token-claims [data-claim='sid']").count() == 1
        userinfo = page.locator("#userinfo-claims")
        assert await userinfo.locator("[data-claim='name']").inner_text() == citizen.full_name
        assert await userinfo.locator("[data-claim='vn_id_number']").inner_text() == citizen.id_number
        assert await userinfo.locator("[data-claim='phone_number']").count() == 1
        await check_page(page, "demo-dvcid-muc-2")

        # "Nâng mức xác thực": dvcid asks for a Sim ký số login (level 3).
        async with page.expect_navigation(url=re.compile(r".*/dang-nhap.*")):
            await page.get_by_role("link", name="Nâng mức xác thực").click()
        assert urlsplit(page.url).query.startswith("tab=sim") or "tab=sim" in page.url
        await check_page(page, "demo-dvcid-nang-muc")
        await page.get_by_label("Số điện thoại có Sim ký số").fill(local(phone))
        await submit(page, "Đăng nhập")
        await page.get_by_role("heading", name="Xác nhận đăng nhập trên điện thoại").wait_for()
        await approve_on_the_sandbox_page(context, phone,
                                          await page.locator("#ma-xac-minh").inner_text())
        await back_at_the_portal(page, portal)
        assert await page.locator("#acr").inner_text() == LEVEL_3
        await check_page(page, "demo-dvcid-muc-3")

        # Logged out at dvcid: the portal hears it by back-channel and forgets the login.
        dvcid = await context.new_page()
        await dvcid.goto("/tai-khoan")
        await submit(dvcid, "Đăng xuất", scope="header")
        await dvcid.get_by_text("Bạn đã đăng xuất").wait_for()
        deadline = time.monotonic() + 20
        while True:
            await page.reload()
            if await page.get_by_role("link", name="Đăng nhập bằng tài khoản Cổng DVCQG").count():
                break
            assert time.monotonic() < deadline, "the portal still shows the login"
            await asyncio.sleep(0.3)
        await check_page(page, "demo-dvcid-da-dang-xuat")

        # Logged out at the portal (RP-initiated, with id_token_hint): dvcid ends its session
        # at once and sends the browser back to the portal's registered post-logout URI.
        await log_in_with_password(page, context, citizen, portal, base_url)
        assert "dvcid_session" in {c["name"] for c in await context.cookies(base_url)}
        async with page.expect_navigation(url=lambda url: url.startswith(f"{portal}/?state=")):
            await page.get_by_role("button", name="Đăng xuất").click()
        await page.get_by_role("link", name="Đăng nhập bằng tài khoản Cổng DVCQG").wait_for()
        assert "dvcid_session" not in {c["name"] for c in await context.cookies(base_url)}
        await dvcid.goto("/tai-khoan")
        assert urlsplit(dvcid.url).path == "/dang-nhap"
    finally:
        await context.close()
