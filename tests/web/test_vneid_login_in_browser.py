"""Đăng nhập bằng VNeID in a real browser (Debian's chromium) on the e2e stack (issue 15): the
login page's button, the sandbox VNeID's CCCD + PIN screen, then dvcid's pages. A citizen with
an account proves it once (password + OTP) and links VNeID; a citizen without one creates it
at level 2; both land on the account's home. Every page passes ``check_page`` (labels,
axe-core, phone width) and is photographed (test-output/screenshots/vneid-rp-*.png)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.journeys import Citizen, add_subscriber, client_ip, new_citizen, register
from tests.web.conftest import check_page, new_context
from tests.web.test_journeys_in_browser import next_otp_from_the_sandbox_page, submit

pytestmark = pytest.mark.e2e

PIN = "135790"


@pytest_asyncio.fixture(loop_scope="session")
async def person_context(browser: Any, base_url: str) -> AsyncIterator[Any]:
    """A browser of its own address: the per-IP login and OTP throttles stay per test."""
    ctx = await new_context(browser, base_url,
                            extra_http_headers=client_ip(f"web-vneid-{random.random()}"))
    yield ctx
    await ctx.close()


def with_vneid(api: httpx.Client, citizen: Citizen) -> None:
    answer = api.post("/api/v1/dev/vneid-citizens", json={
        "id_number": citizen.id_number, "full_name": citizen.full_name,
        "birth_date": citizen.birth_date, "sex": citizen.sex, "pin": PIN})
    assert answer.status_code == 201, answer.text


async def through_vneid(page: Any, citizen: Citizen, shots: str | None = None) -> None:
    """From dvcid's login page to VNeID's screen and back, CCCD and PIN typed."""
    await page.goto("/dang-nhap")
    if shots:
        await check_page(page, f"{shots}-dang-nhap")
    async with page.expect_navigation():
        await page.get_by_role("link", name="Đăng nhập bằng VNeID").click()
    await page.get_by_label("Số định danh cá nhân (CCCD)").fill(citizen.id_number)
    await page.get_by_label("Mã PIN VNeID").fill(PIN)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Đăng nhập", exact=True).click()


async def test_a_citizen_links_vneid_once_then_logs_in_with_it(
        api: httpx.Client, person_context: Any) -> None:
    citizen = new_citizen(sex="female", year=1992)
    add_subscriber(api, citizen)
    register(api, citizen)
    api.cookies.clear()
    with_vneid(api, citizen)
    page = await person_context.new_page()

    await through_vneid(page, citizen, shots="vneid-rp")
    await page.get_by_role("heading", name="Liên kết tài khoản với VNeID").wait_for()
    await check_page(page, "vneid-rp-lien-ket")
    async with page.expect_navigation():
        await page.get_by_role("link", name="Đăng nhập để liên kết").click()
    await page.get_by_label("Tên đăng nhập").fill(citizen.id_number)
    await page.locator("#f-password").fill("Hoa-Sen#2026vn")
    await submit(page, "Đăng nhập")
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(person_context,
                                                                               citizen))
    await submit(page, "Xác nhận")
    await page.get_by_role("button", name="Liên kết với VNeID").wait_for()
    await check_page(page, "vneid-rp-xac-nhan-lien-ket")
    await submit(page, "Liên kết với VNeID")
    await page.get_by_text("Đã liên kết tài khoản với VNeID").wait_for()
    assert "VNeID" in await page.locator("table.methods").inner_text()
    await person_context.clear_cookies()

    await through_vneid(page, citizen)  # straight in from now on
    await page.get_by_role("heading", name="Thông tin định danh").wait_for()
    await check_page(page, "vneid-rp-tai-khoan")


async def test_a_citizen_without_an_account_creates_one_with_vneid(
        api: httpx.Client, person_context: Any) -> None:
    citizen = new_citizen(sex="male", year=1988)
    with_vneid(api, citizen)
    page = await person_context.new_page()

    await through_vneid(page, citizen)
    await page.get_by_role("heading", name="Chưa có tài khoản của số định danh này").wait_for()
    await check_page(page, "vneid-rp-tao-tai-khoan")
    await submit(page, "Tạo tài khoản")
    await page.get_by_role("heading", name="Thông tin định danh").wait_for()
    await page.get_by_text("Đã tạo tài khoản bằng VNeID").wait_for()
    assert citizen.full_name in await page.locator("main").inner_text()
