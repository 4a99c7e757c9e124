"""A citizen manages the account in a real browser (Debian's chromium): contact fields on
Thông tin định danh (a new e-mail first sends the browser to "Xác thực lại": the password,
the OTP, then back); on Các phương thức xác thực the last way to log in cannot be removed, a
phone is added with its OTP, the password is changed ("Sửa"); on Quản lý đăng nhập the
history and the sessions, each device in words ("Chrome trên Linux"), the other browser's
session ended. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.journeys import STRONG_PASSWORD, client_ip, new_citizen, register
from tests.web.conftest import check_page, new_context
from tests.web.test_journeys_in_browser import (
    log_in_with_password,
    next_otp_from_the_sandbox_page,
    submit,
)
from tests.web.test_recovery_journeys_in_browser import (
    NEW_PASSWORD,
    read_the_inbox,
    same_person_new_phone,
)

pytestmark = pytest.mark.e2e

# The second session's browser: Zalo's own window on an iPhone (its sessions row names it).
ZALO_ON_AN_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
                     "(KHTML, like Gecko) Mobile/15E148 Zalo iOS/502 ZaloTheme/light "
                     "ZaloLanguage/vn")


@pytest_asyncio.fixture(loop_scope="session")
async def person_context(browser: Any, base_url: str) -> AsyncIterator[Any]:
    """A browser of its own address: the per-IP login and OTP throttles stay per test."""
    ctx = await new_context(browser, base_url,
                            extra_http_headers=client_ip(f"web-{random.random()}"))
    yield ctx
    await ctx.close()


async def log_in(context: Any, citizen: Any) -> Any:
    page = await context.new_page()
    await log_in_with_password(page, citizen)
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, citizen))
    await submit(page, "Xác nhận")
    await page.get_by_role("heading", name="Thông tin định danh").wait_for()
    return page


async def step_up_in_the_browser(page: Any, context: Any, citizen: Any) -> None:
    """On "Xác thực lại" (where a sensitive change sent the browser): password, then OTP."""
    await page.get_by_role("heading", name="Xác thực lại", exact=True).wait_for()
    await check_page(page, "70a-xac-thuc-lai")
    await page.locator("#f-password").fill(STRONG_PASSWORD)
    await submit(page, "Tiếp tục")
    await page.get_by_role("heading", name="Xác thực lại: nhập mã OTP").wait_for()
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, citizen))
    await submit(page, "Xác nhận")


async def test_a_citizen_manages_contacts_methods_password_and_sessions(
        api: httpx.Client, person_context: Any, browser: Any, base_url: str) -> None:
    citizen = new_citizen(sex="male", year=1979)
    register(api, citizen)
    api.cookies.clear()
    await read_the_inbox(person_context, citizen)
    other = await new_context(browser, base_url, user_agent=ZALO_ON_AN_IPHONE,
                              extra_http_headers=client_ip(f"other-{random.random()}"))
    await log_in(other, citizen)  # a second session, on another device
    page = await log_in(person_context, citizen)

    # Thông tin định danh: contacts edited, identity read only.
    await page.get_by_label("Email").fill("khong-phai-email")
    await submit(page, "Lưu thông tin liên hệ")
    assert await page.locator("#f-email-error").count() == 1
    await check_page(page, "70-tai-khoan-email-sai")
    await page.get_by_label("Email").fill("an.nguyen@example.vn")
    await page.get_by_label("Địa chỉ liên hệ").fill("12 Tràng Tiền, Hoàn Kiếm, Hà Nội")
    await submit(page, "Lưu thông tin liên hệ")
    # A new e-mail is a sensitive change: step up first, then save again.
    await step_up_in_the_browser(page, person_context, citizen)
    assert page.url.endswith("/tai-khoan")
    await page.get_by_label("Email").fill("an.nguyen@example.vn")
    await page.get_by_label("Địa chỉ liên hệ").fill("12 Tràng Tiền, Hoàn Kiếm, Hà Nội")
    await submit(page, "Lưu thông tin liên hệ")
    main = await page.locator("main").inner_text()
    assert "Đã lưu thông tin liên hệ" in main and "12 Tràng Tiền" in main
    assert "an.nguyen@example.vn" in main
    await check_page(page, "71-tai-khoan-da-luu")

    # Các phương thức xác thực: the only phone is the last way to log in.
    await page.locator("nav.side-nav").get_by_role("link", name="Các phương thức xác thực").click()
    await page.get_by_role("heading", name="Các phương thức xác thực").wait_for()
    await check_page(page, "72-phuong-thuc")
    rows = page.locator("table.methods tbody tr")
    assert await rows.count() == 2  # the password and the phone
    await submit(page, re.compile(r"^Xóa SMS"))
    assert await page.locator(".error-summary").count() == 1
    await check_page(page, "73-phuong-thuc-khong-xoa-duoc")

    second = same_person_new_phone(citizen, "097")
    await page.get_by_label("Số điện thoại di động").fill(second.phone)
    await submit(page, "Thêm mới số điện thoại")
    await page.get_by_role("heading", name="Xác nhận số điện thoại mới").wait_for()
    await check_page(page, "74-phuong-thuc-otp")
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(person_context,
                                                                                second))
    await submit(page, "Xác nhận")
    assert "Đã thêm phương thức xác thực" in await page.locator("main").inner_text()
    assert await rows.count() == 3
    await check_page(page, "75-phuong-thuc-da-them")

    # "Sửa": the password, refused beside its fields first.
    await page.locator("main").get_by_role("link", name="Sửa mật khẩu").click()
    await page.get_by_role("heading", name="Đổi mật khẩu").wait_for()
    await check_page(page, "76-doi-mat-khau")
    await page.get_by_label("Mật khẩu hiện tại").fill("Sai-Mat-Khau#1")
    await page.locator("#f-password").fill(NEW_PASSWORD)
    await page.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD)
    await submit(page, "Đổi mật khẩu")
    assert await page.locator("#f-current_password-error").count() == 1
    await page.get_by_label("Mật khẩu hiện tại").fill(STRONG_PASSWORD)
    await page.locator("#f-password").fill("matkhau")
    await page.get_by_label("Nhập lại mật khẩu mới").fill("matkhau")
    await submit(page, "Đổi mật khẩu")
    assert await page.locator("#f-password-error").count() == 1
    assert await page.locator("[data-rule=digit].unmet").count() == 1
    await check_page(page, "77-doi-mat-khau-chua-dat")
    await page.get_by_label("Mật khẩu hiện tại").fill(STRONG_PASSWORD)
    await page.locator("#f-password").fill(NEW_PASSWORD)
    await page.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD)
    await submit(page, "Đổi mật khẩu")
    assert "Đã đổi mật khẩu" in await page.locator("main").inner_text()

    # Quản lý đăng nhập: the history, the sessions; the other device's session ended.
    await page.locator("nav.side-nav").get_by_role("link", name="Quản lý đăng nhập").click()
    await page.get_by_role("heading", name="Quản lý đăng nhập").wait_for()
    sessions = page.locator("table.sessions tbody tr")
    assert await sessions.count() == 2
    assert await page.locator("table.sessions tr.current").count() == 1
    current = await page.locator("table.sessions tr.current").inner_text()
    assert "Phiên hiện tại" in current and "Chrome trên Linux" in current  # headless Chromium
    assert "Zalo trên iPhone" in await page.locator("table.sessions tbody").inner_text()
    history = await page.locator("table.logins tbody").inner_text()
    assert "Thành công" in history and "Mật khẩu + OTP" in history
    assert "Chrome trên Linux" in history and "Mozilla" not in history
    await check_page(page, "78-quan-ly-dang-nhap")
    await submit(page, "Kết thúc")
    assert "Đã kết thúc phiên đăng nhập" in await page.locator("main").inner_text()
    assert await sessions.count() == 1
    await check_page(page, "79-quan-ly-dang-nhap-da-ket-thuc")
    other_page = await other.new_page()
    await other_page.goto("/tai-khoan")
    assert other_page.url.endswith("/dang-nhap?tb=can-dang-nhap")  # that session is over
    await other.close()
