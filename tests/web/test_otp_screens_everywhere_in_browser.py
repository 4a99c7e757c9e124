"""One OTP component everywhere (issue 17, items 7 and 8), in a real browser (Debian's
chromium): the forgotten password's code page has "Gửi lại OTP" with its wait and the code's
countdown, for a name with an account and for one without alike; the account pages' code
screens (a new phone, "Xác thực lại") and the post-office counter's end at the fifth wrong code
without a reload and refuse a code of the wrong length on the page; the login form says
"Bước 1/2". ``check_page`` adds axe-core and both screenshots."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from dvcid.devstack import DevStack
from tests.journeys import STRONG_PASSWORD, Citizen, client_ip, new_citizen, register
from tests.test_post_office_e2e import admin, random_id_number, random_phone
from tests.web.conftest import check_page, fill_birth_date, new_context
from tests.web.test_account_journeys_in_browser import log_in, step_up_in_the_browser
from tests.web.test_journeys_in_browser import submit
from tests.web.test_post_office_journeys_in_browser import first_login_on_the_post_office_tab
from tests.web.test_recovery_journeys_in_browser import read_the_inbox, same_person_new_phone

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture(loop_scope="session")
async def own_context(browser: Any, base_url: str) -> AsyncIterator[Any]:
    """A browser of its own address: the per-IP guards of one test stay in that test."""
    ctx = await new_context(browser, base_url,
                            extra_http_headers=client_ip(f"otp-screens-{random.random()}"))
    yield ctx
    await ctx.close()


async def code_screen_of_a_reset(page: Any, username: str) -> str:
    await page.goto("/quen-mat-khau")
    await page.get_by_label("Tên đăng nhập").fill(username)
    await submit(page, "Tiếp tục")
    await page.get_by_role("heading", name="Xác nhận lấy lại mật khẩu").wait_for()
    resend = page.get_by_role("button", name="Gửi lại OTP")
    assert await resend.count() == 1
    assert 50 <= int(await resend.get_attribute("data-wait-seconds") or 0) <= 60
    assert "Bạn có thể yêu cầu gửi lại mã sau" in await page.locator("main").inner_text()
    assert await page.locator("[data-expires-seconds]").count() == 1
    return str(await page.locator("main").inner_text())


async def test_the_forgotten_password_code_page_offers_a_resend_with_its_wait(
        api: httpx.Client, own_context: Any) -> None:
    citizen = new_citizen(sex="female", year=1983)
    register(api, citizen)
    api.cookies.clear()
    page = await own_context.new_page()
    real = await code_screen_of_a_reset(page, citizen.id_number)
    await check_page(page, "i17-71-quen-mat-khau-gui-lai")
    # A name nobody has gets the same screen: the same button, wait and countdown.
    decoy = await code_screen_of_a_reset(page, f"00109{random.randrange(10**7):07d}")
    assert real.count("Gửi lại OTP") == decoy.count("Gửi lại OTP")


async def test_the_login_form_says_it_is_step_1_of_2(own_context: Any) -> None:
    page = await own_context.new_page()
    await page.goto("/dang-nhap")
    assert "Bước 1/2" in await page.locator("main").inner_text()
    await check_page(page, "i17-81-dang-nhap-buoc-1")


async def five_wrong_codes(page: Any) -> None:
    await page.get_by_label("Mã OTP").fill("12345")
    await submit(page, "Xác nhận")
    assert "6 chữ số" in await page.locator("#f-code-error").inner_text()
    assert await page.locator("[data-expires-seconds]").count() == 1
    for _ in range(5):
        await page.get_by_label("Mã OTP").fill("000000")
        await submit(page, "Xác nhận")


async def test_a_new_phone_ends_at_the_fifth_wrong_code_without_a_reload(
        api: httpx.Client, own_context: Any) -> None:
    citizen = new_citizen(sex="male", year=1981)
    register(api, citizen)
    api.cookies.clear()
    await read_the_inbox(own_context, citizen)
    page = await log_in(own_context, citizen)
    await page.goto("/tai-khoan/phuong-thuc-xac-thuc")
    phone = same_person_new_phone(citizen, "096").phone
    await page.get_by_label("Số điện thoại di động").fill(phone)
    await submit(page, "Thêm mới số điện thoại")
    await step_up_in_the_browser(page, own_context, citizen)  # a new phone is sensitive
    await page.get_by_label("Số điện thoại di động").fill(phone)
    await submit(page, "Thêm mới số điện thoại")
    await page.get_by_role("heading", name="Xác nhận số điện thoại mới").wait_for()
    await five_wrong_codes(page)
    await page.get_by_role("heading", name="Chưa thêm được số điện thoại").wait_for(timeout=2_000)
    await check_page(page, "i17-72-them-so-sai-qua-so-lan")


async def test_a_step_up_ends_at_the_fifth_wrong_code_without_a_reload(
        api: httpx.Client, own_context: Any) -> None:
    citizen = new_citizen(sex="female", year=1977)
    register(api, citizen)
    api.cookies.clear()
    await read_the_inbox(own_context, citizen)
    page = await log_in(own_context, citizen)
    await page.goto("/tai-khoan/xac-thuc-lai")
    await page.locator("#f-password").fill(STRONG_PASSWORD)
    await submit(page, "Tiếp tục")
    await page.get_by_role("heading", name="Xác thực lại: nhập mã OTP").wait_for()
    await five_wrong_codes(page)
    await page.get_by_role("heading", name="Chưa xác thực lại được").wait_for(timeout=2_000)
    await check_page(page, "i17-73-xac-thuc-lai-sai-qua-so-lan")


async def test_the_counter_code_page_ends_at_the_fifth_wrong_code_without_a_reload(
        browser: Any, base_url: str, stack: DevStack) -> None:
    agent_phone = random_phone()
    created = admin(stack, "create-agent", "--id-number", random_id_number(),
                    "--full-name", "Trần Văn Bình", "--phone", agent_phone,
                    "--office", "Bưu điện Đà Nẵng", "--office-code", "DN-002")
    agent = Citizen("", "Trần Văn Bình", "", "male", agent_phone)
    context = await new_context(browser, base_url,
                                extra_http_headers=client_ip(f"counter-{random.random()}"))
    try:
        page = await context.new_page()
        await first_login_on_the_post_office_tab(page, context, agent, created["username"],
                                                 created["initial_password"], "i17-74-nhan-vien")
        await page.goto("/quay-buu-dien")
        citizen = new_citizen(sex="male", year=1990)
        await page.get_by_label("Số CCCD/CMND").fill(citizen.id_number)
        await page.get_by_label("Họ và tên").fill(citizen.full_name)
        await fill_birth_date(page, citizen.birth_date)
        await page.get_by_label("Nam", exact=True).check()
        await page.get_by_label("Số điện thoại di động").fill(citizen.phone)
        await page.get_by_label("Đã kiểm tra giấy tờ tùy thân").check()
        await submit(page, "Gửi mã xác nhận")
        await page.get_by_role("heading", name="Xác nhận số điện thoại của công dân").wait_for()
        assert "Bước 2/2" in await page.locator("main").inner_text()
        resend = page.get_by_role("button", name="Gửi lại mã")
        assert 50 <= int(await resend.get_attribute("data-wait-seconds") or 0) <= 60
        await page.get_by_label("Mã xác nhận").fill("12345")
        await submit(page, "Xác nhận và tạo tài khoản")
        assert "6 chữ số" in await page.locator("#f-code-error").inner_text()
        assert await page.locator("[data-expires-seconds]").count() == 1
        for _ in range(5):
            await page.get_by_label("Mã xác nhận").fill("000000")
            await submit(page, "Xác nhận và tạo tài khoản")
        await page.get_by_role("heading", name="Chưa đăng ký được tài khoản").wait_for(
            timeout=2_000)
        assert await page.get_by_role("link", name="Đăng ký lại cho công dân").count() == 1
        await check_page(page, "i17-75-quay-sai-qua-so-lan")
    finally:
        await context.close()
