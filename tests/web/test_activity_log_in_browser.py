"""A citizen reads the account's activity log ("Hoạt động của tài khoản") in a real browser:
linked from the account pages' menu, it lists the registration and the login just made, newest
first, with a failed password attempt summed up. Screenshot in test-output/screenshots/."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx
import pytest

from tests.journeys import client_ip, new_citizen, register
from tests.web.conftest import check_page, new_context
from tests.web.test_journeys_in_browser import (
    log_in_with_password,
    next_otp_from_the_sandbox_page,
    submit,
)

pytestmark = pytest.mark.e2e


async def test_the_activity_log_shows_the_login(api: httpx.Client, browser: Any,
                                                base_url: str) -> None:
    citizen = new_citizen(sex="female", year=1985)
    register(api, citizen)
    api.cookies.clear()
    context = await new_context(browser, base_url,
                                extra_http_headers=client_ip(f"activity-{random.random()}"))
    try:
        page = await context.new_page()
        # A wrong password first: the log sums failed attempts.
        await page.goto("/dang-nhap")
        await page.get_by_label("Tên đăng nhập").fill(citizen.id_number)
        await page.locator("#f-password").fill("Sai-Mat-Khau#1")
        await submit(page, "Đăng nhập")
        await log_in_with_password(page, citizen)
        await page.get_by_label("Mã OTP").fill(
            await next_otp_from_the_sandbox_page(context, citizen))
        await submit(page, "Xác nhận")
        await page.get_by_role("heading", name="Thông tin định danh").wait_for()

        await page.locator("nav.side-nav").get_by_role(
            "link", name="Hoạt động của tài khoản").click()
        await page.get_by_role("heading", name="Hoạt động của tài khoản").wait_for()
        # The log is written from events: reload until the login is there.
        deadline = time.monotonic() + 20
        rows: list[str] = []
        while time.monotonic() < deadline:
            rows = await page.locator("table.activity tbody tr").all_inner_texts()
            if any("Đăng nhập thành công" in r for r in rows) and any(
                    "không thành công" in r for r in rows):
                break
            await asyncio.sleep(0.3)
            await page.reload()
        assert "Đăng nhập thành công" in rows[0], rows  # newest first
        assert "Mật khẩu + OTP" in rows[0]
        assert any("Đăng nhập không thành công" in r for r in rows), rows
        assert "Đăng ký tài khoản" in rows[-1], rows
        text = await page.locator("main").inner_text()
        assert citizen.id_number not in text and citizen.phone not in text
        await check_page(page, "95-hoat-dong-tai-khoan")
    finally:
        await context.close()
