"""More of a citizen's journeys in a real browser (Debian's chromium): registration by BHXH
(the record added on the sandbox page), the forgotten password with JavaScript off, and the
login OTP screen's options (another registered phone; a lost phone, refused for a stranger's
number, then accepted for the holder's own). Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio
from pymongo import MongoClient

from tests.journeys import STRONG_PASSWORD, Citizen, add_subscriber, client_ip, new_citizen, register
from tests.web.conftest import check_page, fill_birth_date, new_context
from tests.web.test_journeys_in_browser import (
    follow,
    log_in_with_password,
    next_otp_from_the_sandbox_page,
    submit,
)

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Sen-Vang#2027vn"


@pytest_asyncio.fixture(loop_scope="session")
async def person_context(browser: Any, base_url: str) -> AsyncIterator[Any]:
    """A browser of its own address (X-Forwarded-For, trusted from 127.0.0.1): the per-IP
    login and OTP throttles of one test never reach into another's."""
    ctx = await new_context(browser, base_url,
                            extra_http_headers=client_ip(f"web-{random.random()}"))
    yield ctx
    await ctx.close()


def same_person_new_phone(citizen: Citizen, prefix: str) -> Citizen:
    return Citizen(citizen.id_number, citizen.full_name, citizen.birth_date, citizen.sex,
                   f"{prefix}{random.randrange(10**7):07d}")


async def add_bhxh_record_on_the_sandbox_page(context: Any, citizen: Citizen, bhxh_code: str,
                                              screenshot: str | None = None) -> None:
    page = await context.new_page()
    await page.goto("/dev")
    form = page.locator("form#them-bhxh")
    await form.get_by_label("Mã số BHXH").fill(bhxh_code)
    await form.get_by_label("Số CCCD/CMND").fill(citizen.id_number)
    await form.get_by_label("Họ và tên").fill(citizen.full_name)
    await form.get_by_label("Ngày sinh").fill(citizen.birth_date)
    await form.get_by_label("Nam" if citizen.sex == "male" else "Nữ", exact=True).check()
    # The phone registered by BHXH must be the person's: the one on their record.
    await form.get_by_label("Số điện thoại (không bắt buộc)").fill(citizen.phone)
    async with page.expect_navigation():
        await form.get_by_role("button", name="Thêm hồ sơ BHXH").click()
    await page.get_by_text("Đã thêm hồ sơ vào cơ sở dữ liệu Bảo hiểm xã hội").wait_for()
    if screenshot:
        await check_page(page, screenshot)
    await page.close()


async def read_the_inbox(context: Any, citizen: Citizen) -> None:
    """Marks the SMS already sent to the citizen's phone (e.g. while registering over the
    API) as read, so the next code read from the sandbox page is a new one."""
    page = await context.new_page()
    await page.goto("/dev?" + urlencode({"phone": citizen.phone}))
    citizen.seen_sms.update(await page.locator("table.messages tbody tr").all_inner_texts())
    await page.close()


async def fill_bhxh_form(page: Any, citizen: Citizen, bhxh_code: str,
                         full_name: str | None = None) -> None:
    await page.get_by_label("Mã số BHXH").fill(bhxh_code)
    await page.get_by_label("Số CCCD/CMND").fill(citizen.id_number)
    await page.get_by_label("Họ và tên").fill(full_name or citizen.full_name)
    await fill_birth_date(page, citizen.birth_date)
    await page.get_by_label("Số điện thoại di động").fill(citizen.phone)


async def test_register_by_bhxh_in_the_browser(person_context: Any) -> None:
    context = person_context
    citizen = new_citizen(sex="female", year=1994)
    bhxh_code = f"01{random.randrange(10**8):08d}"
    await add_bhxh_record_on_the_sandbox_page(context, citizen, bhxh_code,
                                              screenshot="40-sandbox-them-bhxh")
    page = await context.new_page()
    await page.goto("/dang-ky/cong-dan")
    await follow(page, "Bảo hiểm xã hội")
    await page.get_by_role("heading", name="Đăng ký bằng Bảo hiểm xã hội").wait_for()
    await check_page(page, "41-dang-ky-bhxh")

    # A code nobody is insured under: said beside the code, nothing more.
    await fill_bhxh_form(page, citizen, "0100000000")
    await submit(page, "Đăng ký")
    code_field = page.locator(".field", has=page.locator("#f-bhxh_code"))
    assert "Không tìm thấy mã số BHXH" in await code_field.inner_text()
    await check_page(page, "42-dang-ky-bhxh-khong-tim-thay")

    # The name without its diacritics is another name: refused, naming no field.
    await fill_bhxh_form(page, citizen, bhxh_code, full_name="Tran Thi Binh")
    await submit(page, "Đăng ký")
    summary = await page.locator(".error-summary").inner_text()
    assert "Không đăng ký được tài khoản" in summary and "không khớp" in summary
    assert await page.locator("[aria-invalid=true]").count() == 0
    assert citizen.full_name not in await page.locator("main").inner_text()  # nothing revealed
    await check_page(page, "43-dang-ky-bhxh-khong-khop")

    await fill_bhxh_form(page, citizen, bhxh_code)
    await submit(page, "Đăng ký")
    await page.get_by_role("heading", name="Xác nhận số điện thoại").wait_for()
    assert citizen.phone[-3:] in await page.locator("main").inner_text()
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, citizen))
    await submit(page, "Xác nhận")
    await page.get_by_role("heading", name="Đặt mật khẩu").wait_for()
    await page.locator("#f-password").fill(STRONG_PASSWORD)
    await page.get_by_label("Nhập lại mật khẩu").fill(STRONG_PASSWORD)
    await submit(page, "Đăng ký")
    await page.get_by_role("heading", name="Đăng ký tài khoản thành công").wait_for()
    assert "mức xác minh 2" in await page.locator("main").inner_text()

    await log_in_with_password(page, citizen)
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, citizen))
    await submit(page, "Xác nhận")
    await page.get_by_role("heading", name="Thông tin định danh").wait_for()
    main_text = await page.locator("main").inner_text()
    assert citizen.id_number in main_text and "Mức 2" in main_text
    assert "Nữ" in main_text  # the sex comes from the BHXH record: the form does not ask
    await check_page(page, "44-tai-khoan-bhxh")


async def test_forgot_password_with_javascript_off(browser: Any, base_url: str,
                                                   api: httpx.Client, mongo: MongoClient) -> None:
    citizen = new_citizen(sex="male", year=1979)
    register(api, citizen)
    await wait_for_account(mongo, citizen.id_number)
    context = await new_context(browser, base_url, java_script_enabled=False,
                                extra_http_headers=client_ip(f"web-reset-{citizen.id_number}"))
    try:
        await read_the_inbox(context, citizen)
        page = await context.new_page()
        await page.goto("/dang-nhap")
        await follow(page, "Quên mật khẩu?")
        await page.get_by_role("heading", name="Quên mật khẩu").wait_for()
        await check_page(page, "50-quen-mat-khau")
        # Nobody's name gets the same next page as an account's (no enumeration), no SMS.
        await page.get_by_label("Tên đăng nhập").fill(f"00109{random.randrange(10**7):07d}")
        await submit(page, "Tiếp tục")
        await page.get_by_role("heading", name="Xác nhận lấy lại mật khẩu").wait_for()

        await page.goto("/quen-mat-khau")
        await page.get_by_label("Tên đăng nhập").fill(citizen.id_number)
        await submit(page, "Tiếp tục")
        await page.get_by_role("heading", name="Xác nhận lấy lại mật khẩu").wait_for()
        assert citizen.phone[-3:] in await page.locator("main").inner_text()
        assert await page.get_by_role("button", name="Gửi lại OTP").count() == 1  # issue 17
        await check_page(page, "51-quen-mat-khau-otp")
        await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, citizen))
        await submit(page, "Xác nhận")

        await page.get_by_role("heading", name="Đặt mật khẩu mới").wait_for()
        await page.locator("#f-password").fill(NEW_PASSWORD)
        await page.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD + "x")
        await submit(page, "Đổi mật khẩu")
        confirmation = page.locator(".field", has=page.locator("#f-password_confirmation"))
        assert "không khớp" in await confirmation.inner_text()
        await check_page(page, "52-quen-mat-khau-mat-khau-moi")
        await page.locator("#f-password").fill(NEW_PASSWORD)
        await page.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD)
        await submit(page, "Đổi mật khẩu")
        await page.get_by_role("heading", name="Đổi mật khẩu thành công").wait_for()
        await check_page(page, "53-quen-mat-khau-thanh-cong")

        # The old password no longer opens the account; the new one does.
        await page.goto("/dang-nhap")
        await page.get_by_label("Tên đăng nhập").fill(citizen.id_number)
        await page.locator("#f-password").fill(STRONG_PASSWORD)
        await submit(page, "Đăng nhập")
        await page.get_by_role("heading", name="Đăng nhập không thành công").wait_for()
        await page.get_by_label("Tên đăng nhập").fill(citizen.id_number)
        await page.locator("#f-password").fill(NEW_PASSWORD)
        await submit(page, "Đăng nhập")
        await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, citizen))
        await submit(page, "Xác nhận")
        await page.get_by_role("heading", name="Thông tin định danh").wait_for()
    finally:
        await context.close()


async def wait_for_account(mongo: MongoClient, id_number: str) -> dict[str, Any]:
    """The profile service makes the account from registration's event, a moment later."""
    accounts = mongo["dvcid_profile"]["accounts"]
    deadline = time.monotonic() + 15
    # Accounts keep the typed identity key (a 12-digit number is a CCCD).
    while (account := accounts.find_one({"id_number": f"CCCD:{id_number}"})) is None:
        assert time.monotonic() < deadline, "the account was never created"
        await asyncio.sleep(0.1)
    return account


async def test_the_login_otp_goes_to_another_phone_or_a_new_one(
        person_context: Any, api: httpx.Client, mongo: MongoClient) -> None:
    context = person_context
    citizen = new_citizen(sex="female", year=1988)
    register(api, citizen)
    second = same_person_new_phone(citizen, "098")
    account = await wait_for_account(mongo, citizen.id_number)
    mongo["dvcid_profile"]["accounts"].update_one({"_id": account["_id"]}, {"$push": {"phones": {
        "phone_id": "second-phone", "phone": "+84" + second.phone[1:], "otp": True,
        "added_at": account["created_at"]}}})

    # "Chọn phương thức xác thực khác": the code to the second phone.
    page = await context.new_page()
    await log_in_with_password(page, citizen)
    await page.get_by_role("heading", name="Nhập mã OTP").wait_for()
    await check_page(page, "60-dang-nhap-otp-tuy-chon")
    await page.get_by_label(f"{second.phone[1:3]}****{second.phone[-3:]}").check()
    await submit(page, "Gửi mã đến số đã chọn")
    await page.get_by_text("Mã OTP đã được gửi đến số điện thoại").wait_for()
    assert second.phone[-3:] in await page.locator("main strong").first.inner_text()
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, second))
    await submit(page, "Xác nhận")
    await page.get_by_role("heading", name="Thông tin định danh").wait_for()
    await submit(page, "Đăng xuất", scope="header")

    # "Mất số điện thoại nhận OTP": a stranger's number is refused after its code...
    stranger = new_citizen()
    add_subscriber(api, stranger)
    await log_in_with_password(page, citizen)
    await follow(page, "Mất số điện thoại nhận OTP")
    await page.get_by_role("heading", name="Mất số điện thoại nhận OTP").wait_for()
    await check_page(page, "61-mat-so-dien-thoai")
    await page.get_by_label("Số điện thoại nhận OTP mới").fill(stranger.phone)
    await submit(page, "Đăng ký")
    await page.get_by_text("đối chiếu số điện thoại mới").wait_for()
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, stranger))
    await submit(page, "Xác nhận")
    assert "không đứng tên chủ tài khoản" in await page.locator(".error-summary").inner_text()
    await check_page(page, "62-mat-so-dien-thoai-khong-khop")

    # ...the holder's own new number replaces the lost one (in a new login: this one's code
    # for a new phone was just sent, and the next may only go after the resend wait).
    new_phone = same_person_new_phone(citizen, "088")
    add_subscriber(api, new_phone)
    await log_in_with_password(page, citizen)
    await follow(page, "Mất số điện thoại nhận OTP")
    await page.get_by_label("Số điện thoại nhận OTP mới").fill(new_phone.phone)
    await submit(page, "Đăng ký")
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, new_phone))
    await submit(page, "Xác nhận")
    await page.get_by_role("heading", name="Thông tin định danh").wait_for()
    assert new_phone.phone[-3:] in await page.locator("main").inner_text()
