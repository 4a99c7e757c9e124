"""The post office in a real browser (Debian's chromium): an agent made with ``dvcid admin
create-agent`` logs in on the Bưu điện tab (the one-time password forces a new one, then
the OTP), registers a citizen at the counter page in two steps (the code sent to the
citizen's phone is read back and typed by the agent); the citizen, with JavaScript off, reads
the initial password from the sandbox SMS inbox, logs in on the Bưu điện tab with the forced
change, and is refused the counter page. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import asyncio
import random
import re
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from dvcid.devstack import DevStack
from tests.journeys import Citizen, client_ip, new_citizen
from tests.test_post_office_e2e import admin, random_id_number, random_phone
from tests.web.conftest import check_page, fill_birth_date, new_context
from tests.web.test_journeys_in_browser import next_otp_from_the_sandbox_page, submit

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Tem-Thu#2026vn"


async def initial_password_from_the_sandbox_page(context: Any, citizen: Citizen,
                                                 timeout: float = 15.0) -> str:
    page = await context.new_page()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await page.goto("/dev?" + urlencode({"phone": citizen.phone}))
            rows = await page.locator("table.messages tbody tr").all_inner_texts()
            for row in rows:
                found = re.search(r"mat khau: (\S+)\.", row)
                if found:
                    citizen.seen_sms.update(rows)  # the next OTP is a new message
                    return found.group(1)
            await asyncio.sleep(0.2)
        raise AssertionError(f"no initial password SMS to {citizen.phone}")
    finally:
        await page.close()


async def first_login_on_the_post_office_tab(page: Any, context: Any, who: Citizen,
                                             username: str, password: str,
                                             screenshots: str) -> None:
    """Bưu điện tab → Đổi mật khẩu lần đầu (a weak one refused first) → OTP → account."""
    # Once: the counter said completed, so the account is usable (read-your-writes).
    await page.goto("/dang-nhap?tab=buu-dien")
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.locator("#f-password").fill(password)
    await submit(page, "Đăng nhập")
    await page.get_by_role("heading", name="Đổi mật khẩu lần đầu").wait_for()
    await check_page(page, f"{screenshots}-doi-mat-khau-lan-dau")
    await page.locator("#f-password").fill("matkhau")
    await page.get_by_label("Nhập lại mật khẩu mới").fill("matkhau")
    await submit(page, "Đổi mật khẩu và tiếp tục")
    assert await page.locator("[data-rule=uppercase].unmet").count() == 1
    assert await page.locator("#f-password-error").count() == 1  # beside the field
    await check_page(page, f"{screenshots}-doi-mat-khau-chua-dat")
    await page.locator("#f-password").fill(NEW_PASSWORD)
    await page.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD)
    await submit(page, "Đổi mật khẩu và tiếp tục")
    await page.get_by_role("heading", name="Nhập mã OTP").wait_for()
    assert who.phone[-3:] in await page.locator("main").inner_text()
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(context, who))
    await submit(page, "Xác nhận")
    await page.get_by_role("heading", name="Thông tin định danh").wait_for()


async def test_an_agent_registers_a_citizen_who_then_logs_in(browser: Any, base_url: str,
                                                             stack: DevStack) -> None:
    agent_phone = random_phone()
    created = admin(stack, "create-agent", "--id-number", random_id_number(),
                    "--full-name", "Lê Thị Thu", "--phone", agent_phone,
                    "--office", "Bưu điện Hà Nội", "--office-code", "HN-001")
    agent = Citizen("", "Lê Thị Thu", "", "female", agent_phone)
    agent_context = await new_context(browser, base_url,
                                      extra_http_headers=client_ip(f"agent-{random.random()}"))
    page = await agent_context.new_page()
    await page.goto("/dang-nhap?tab=buu-dien")
    await check_page(page, "60-dang-nhap-buu-dien")
    await first_login_on_the_post_office_tab(page, agent_context, agent, created["username"],
                                             created["initial_password"], "61-nhan-vien")
    assert "Bưu điện Hà Nội" in await page.locator("main").inner_text()
    await check_page(page, "62-nhan-vien-tai-khoan")

    await page.locator("main").get_by_role("link", name="Quầy đăng ký tài khoản").click()
    await page.get_by_role("heading", name="Đăng ký tài khoản tại quầy Bưu điện").wait_for()
    await check_page(page, "63-quay-buu-dien")
    citizen = new_citizen(sex="female", year=1987)
    await page.get_by_label("Số CCCD/CMND").fill(citizen.id_number)
    await page.get_by_label("Họ và tên").fill(citizen.full_name)
    await fill_birth_date(page, citizen.birth_date)
    await page.get_by_label("Nữ", exact=True).check()
    await page.get_by_label("Số điện thoại di động").fill(citizen.phone)
    await submit(page, "Gửi mã xác nhận")  # the ID document not ticked: said beside it
    checkbox_field = page.locator(".field", has=page.locator("#f-id_document_checked"))
    assert "giấy tờ tùy thân" in await checkbox_field.locator(".field-error").inner_text()
    assert await page.get_by_label("Họ và tên").input_value() == citizen.full_name  # kept
    await check_page(page, "64-quay-buu-dien-chua-kiem-tra")
    await page.get_by_label("Đã kiểm tra giấy tờ tùy thân").check()
    await submit(page, "Gửi mã xác nhận")
    # The citizen's phone is proven at the counter: they read the code back to the agent.
    await page.get_by_role("heading", name="Xác nhận số điện thoại của công dân").wait_for()
    assert citizen.phone[-3:] in await page.locator("main").inner_text()
    await check_page(page, "64b-quay-buu-dien-ma-xac-nhan")
    await page.get_by_label("Mã xác nhận").fill("000000")  # misheard: said beside the field
    await submit(page, "Xác nhận và tạo tài khoản")
    assert await page.locator("#f-code-error").count() == 1
    await page.get_by_label("Mã xác nhận").fill(
        await next_otp_from_the_sandbox_page(agent_context, citizen))
    await submit(page, "Xác nhận và tạo tài khoản")
    await page.get_by_role("heading", name="Đã đăng ký tài khoản cho công dân").wait_for()
    username = await page.locator("#ten-dang-nhap").inner_text()
    assert re.fullmatch(r"BD\d{10}", username)
    assert "gửi bằng SMS" in await page.locator("main").inner_text()
    await check_page(page, "65-quay-buu-dien-thanh-cong")
    await agent_context.close()

    # The citizen, in a browser without JavaScript.
    citizen_context = await new_context(browser, base_url, java_script_enabled=False,
                                        extra_http_headers=client_ip(f"bd-{random.random()}"))
    page = await citizen_context.new_page()
    password = await initial_password_from_the_sandbox_page(citizen_context, citizen)
    await first_login_on_the_post_office_tab(page, citizen_context, citizen, username, password,
                                             "66-cong-dan-buu-dien")
    main = await page.locator("main").inner_text()
    assert citizen.id_number in main and "Mức 3" in main
    await check_page(page, "67-cong-dan-buu-dien-tai-khoan")
    response = await page.goto("/quay-buu-dien")
    assert response.status == 403
    await page.get_by_role("heading", name="Không có quyền truy cập").wait_for()
    await check_page(page, "68-quay-buu-dien-403")
    await citizen_context.close()
