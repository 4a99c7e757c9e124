"""A citizen's journeys through the portal's pages in a real browser (Debian's chromium):
register by mobile number (the OTP read from the sandbox page), log in on the CMT/CCCD tab
with the OTP, read the account page, log out; once more with JavaScript off; the pages on a
phone screen and by keyboard. Screenshots of every page go to test-output/screenshots/."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.journeys import STRONG_PASSWORD, Citizen, new_citizen
from tests.web.conftest import check_page, fill_birth_date, new_context, otp_in

pytestmark = pytest.mark.e2e

PHONE_SCREEN = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


async def submit(page: Any, button: str | re.Pattern[str], scope: str = "main") -> None:
    """Clicks a button of a form and waits for the page the server answers with."""
    async with page.expect_navigation():
        await page.locator(scope).get_by_role("button", name=button).click()


async def follow(page: Any, link: str) -> None:
    async with page.expect_navigation():
        await page.locator("main").get_by_role("link", name=link).click()


async def add_subscriber_on_the_sandbox_page(context: Any, citizen: Citizen,
                                             screenshot: str | None = None) -> None:
    page = await context.new_page()
    await page.goto("/dev")
    form = page.locator("form#them-thue-bao")
    await form.get_by_label("Số điện thoại").fill(citizen.phone)
    await form.get_by_label("Số CCCD/CMND").fill(citizen.id_number)
    await form.get_by_label("Họ và tên").fill(citizen.full_name)
    await form.get_by_label("Ngày sinh").fill(citizen.birth_date)
    await submit(page, "Thêm thuê bao")
    await page.get_by_text("Đã thêm thuê bao").wait_for()
    if screenshot:
        await check_page(page, screenshot)
    await page.close()


async def next_otp_from_the_sandbox_page(context: Any, citizen: Citizen,
                                         timeout: float = 15.0) -> str:
    """The newest SMS to the citizen's phone this test has not read, from the /dev page."""
    page = await context.new_page()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await page.goto("/dev?" + urlencode({"phone": citizen.phone}))
            rows = await page.locator("table.messages tbody tr").all_inner_texts()
            unread = [row for row in rows if row not in citizen.seen_sms]
            citizen.seen_sms.update(rows)
            # A notice of a change to the account carries no code: it is not the one awaited.
            codes = [code for code in map(otp_in, unread) if code]
            if codes:
                return codes[0]
            await asyncio.sleep(0.2)
        raise AssertionError(f"no new SMS to {citizen.phone} within {timeout}s")
    finally:
        await page.close()


async def fill_mobile_registration(page: Any, citizen: Citizen) -> None:
    await page.get_by_label("Số CCCD/CMND").fill(citizen.id_number)
    await page.get_by_label("Họ và tên").fill(citizen.full_name)
    await fill_birth_date(page, citizen.birth_date)
    await page.get_by_label("Nam" if citizen.sex == "male" else "Nữ", exact=True).check()
    await page.get_by_label("Số điện thoại di động").fill(citizen.phone)


async def log_in_with_password(page: Any, citizen: Citizen) -> None:
    """The CMT/CCCD tab, once: a registration that said completed has a usable account
    (read-your-writes)."""
    await page.goto("/dang-nhap")
    await page.get_by_label("Tên đăng nhập").fill(citizen.id_number)
    await page.locator("#f-password").fill(STRONG_PASSWORD)
    await submit(page, "Đăng nhập")


async def test_register_by_mobile_log_in_read_the_account_and_log_out(context: Any) -> None:
    citizen = new_citizen(sex="female", year=2001)
    page = await context.new_page()

    await page.goto("/")
    await check_page(page, "01-trang-chu")
    await add_subscriber_on_the_sandbox_page(context, citizen, screenshot="02-sandbox")

    await follow(page, "Đăng ký")
    await check_page(page, "03-dang-ky-chon-doi-tuong")
    await follow(page, "Công dân")
    await check_page(page, "04-dang-ky-chon-phuong-thuc")
    assert await page.get_by_role("link", name="Bảo hiểm xã hội").count() == 1  # live now
    await follow(page, "Thuê bao di động")
    await check_page(page, "05-dang-ky-thue-bao")
    await fill_mobile_registration(page, citizen)
    await submit(page, "Đăng ký")

    await page.get_by_role("heading", name="Xác nhận số điện thoại").wait_for()
    assert citizen.phone[-3:] in await page.locator("main").inner_text()
    resend = page.get_by_role("button", name="Gửi lại OTP")
    assert await resend.is_disabled()  # the countdown (JS) holds it until the server allows
    assert "giây" in await resend.inner_text()
    await check_page(page, "06-dang-ky-otp")
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, citizen))
    await submit(page, "Xác nhận")

    await page.get_by_role("heading", name="Đặt mật khẩu").wait_for()
    await page.locator("#f-password").fill("abc")
    checklist = page.locator("[data-password-rules]")
    assert await checklist.locator("li.met").count() == 1  # lowercase only
    await page.locator("#f-password").fill(STRONG_PASSWORD)
    assert await checklist.locator("li.met").count() == 5  # every rule a browser can judge
    await page.get_by_label("Nhập lại mật khẩu").fill(STRONG_PASSWORD)
    await check_page(page, "07-dang-ky-mat-khau")
    await submit(page, "Đăng ký")

    await page.get_by_role("heading", name="Đăng ký tài khoản thành công").wait_for()
    assert "mức xác minh 2" in await page.locator("main").inner_text()
    await check_page(page, "08-dang-ky-thanh-cong")

    for slug, name in (("sim", "Sim ký số"), ("usb", "USB ký số"), ("buu-dien", "Bưu điện")):
        await page.goto(f"/dang-nhap?tab={slug}")
        assert await page.get_by_role("link", name=name, exact=True).get_attribute("aria-current") == "page"
        await check_page(page, f"09-dang-nhap-tab-{slug}")
    await page.goto("/dang-nhap")
    await check_page(page, "10-dang-nhap-cmt-cccd")
    await log_in_with_password(page, citizen)
    await page.get_by_role("heading", name="Nhập mã OTP").wait_for()
    await check_page(page, "11-dang-nhap-otp")
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, citizen))
    await submit(page, "Xác nhận")

    await page.get_by_role("heading", name="Thông tin định danh").wait_for()
    main_text = await page.locator("main").inner_text()
    assert citizen.full_name in main_text and citizen.id_number in main_text
    assert "17/05/2001" in main_text and "Mức 2" in main_text
    await check_page(page, "12-tai-khoan-thong-tin-dinh-danh")
    session = next(c for c in await context.cookies() if c["name"] == "dvcid_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"

    await submit(page, "Đăng xuất")
    await page.get_by_text("Bạn đã đăng xuất").wait_for()
    assert not [c for c in await context.cookies() if c["name"] == "dvcid_session"]
    await page.goto("/tai-khoan")
    assert page.url.endswith("/dang-nhap?tb=can-dang-nhap")
    assert "Vui lòng đăng nhập để xem trang tài khoản" in await page.locator("main").inner_text()


async def test_the_whole_journey_works_with_javascript_off(browser: Any, base_url: str) -> None:
    context = await new_context(browser, base_url, java_script_enabled=False)
    try:
        citizen = new_citizen(sex="male", year=1985)
        page = await context.new_page()
        await add_subscriber_on_the_sandbox_page(context, citizen)

        await page.goto("/dang-ky/cong-dan/thue-bao-di-dong")
        await submit(page, "Đăng ký")  # nothing filled in
        assert await page.locator(".error-summary").count() == 1
        id_field = page.locator(".field", has=page.locator("#f-id_number"))
        assert "Vui lòng nhập số CCCD/CMND" in await id_field.inner_text()
        assert await page.locator("#f-id_number").get_attribute("aria-invalid") == "true"
        await check_page(page, "20-khong-js-loi-bieu-mau")

        await fill_mobile_registration(page, citizen)
        await submit(page, "Đăng ký")
        await page.get_by_role("heading", name="Xác nhận số điện thoại").wait_for()
        # No script, no countdown: the button stays usable and the server decides.
        assert await page.get_by_role("button", name="Gửi lại OTP").is_enabled()
        await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, citizen))
        await submit(page, "Xác nhận")

        await page.locator("#f-password").fill(STRONG_PASSWORD)
        await page.get_by_label("Nhập lại mật khẩu").fill(STRONG_PASSWORD + "x")
        await submit(page, "Đăng ký")
        confirmation = page.locator(".field", has=page.locator("#f-password_confirmation"))
        assert "không khớp" in await confirmation.inner_text()
        await check_page(page, "21-khong-js-mat-khau-khong-khop")
        await page.locator("#f-password").fill(STRONG_PASSWORD)
        await page.get_by_label("Nhập lại mật khẩu").fill(STRONG_PASSWORD)
        await submit(page, "Đăng ký")
        await page.get_by_role("heading", name="Đăng ký tài khoản thành công").wait_for()

        await log_in_with_password(page, citizen)
        await page.get_by_role("heading", name="Nhập mã OTP").wait_for()
        await submit(page, "Gửi lại OTP")  # too soon: told to wait
        assert "giây" in await page.locator("#resend-wait").inner_text()
        await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, citizen))
        await submit(page, "Xác nhận")
        await page.get_by_role("heading", name="Thông tin định danh").wait_for()
        assert citizen.id_number in await page.locator("main").inner_text()
        await submit(page, "Đăng xuất", scope="header")
        await page.get_by_text("Bạn đã đăng xuất").wait_for()
    finally:
        await context.close()


async def test_the_pages_fit_a_phone_screen_and_work_by_keyboard(browser: Any, base_url: str) -> None:
    context = await new_context(browser, base_url, **PHONE_SCREEN)
    try:
        page = await context.new_page()
        for path, name in (("/", "30-dien-thoai-trang-chu"),
                           ("/dang-ky/cong-dan/thue-bao-di-dong", "31-dien-thoai-dang-ky"),
                           ("/dang-nhap", "32-dien-thoai-dang-nhap"), ("/dev", "33-dien-thoai-sandbox"),
                           ("/dang-ky/cong-dan/bao-hiem-xa-hoi", "34-dien-thoai-dang-ky-bhxh"),
                           ("/quen-mat-khau", "35-dien-thoai-quen-mat-khau")):
            await page.goto(path)
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
            await check_page(page, name)

        # By keyboard: the first Tab reaches the skip link; the login form fills and submits
        # with Tab and Enter alone (an unknown account: the refusal is shown on the page).
        await page.goto("/dang-nhap")
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.textContent") == "Bỏ qua, đến nội dung chính"
        await page.get_by_label("Tên đăng nhập").focus()
        await page.keyboard.type("001090999999")
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == "f-password"
        await page.keyboard.type("Sai-Mat-Khau#1")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Đăng nhập không thành công").wait_for()
        # The summary takes the focus, so a screen reader announces the refusal first.
        assert await page.evaluate("document.activeElement.id") == "error-summary"
    finally:
        await context.close()
