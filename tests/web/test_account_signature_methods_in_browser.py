"""Các phương thức xác thực → Thêm mới a Sim ký số and a USB ký số in a real browser (Debian's
chromium): a citizen registered by mobile (level 2) adds a certificate of their own; the
method appears in the list and the account is level 3. The SIM is approved on the sandbox page
(the waiting screen's script notices); the USB token is a PKCS#12 given to a real
``dvcid signer``. Screenshots in test-output/screenshots/."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.journeys import new_citizen, register
from tests.test_usb_sim_e2e import new_phone
from tests.web.conftest import check_page
from tests.web.test_account_journeys_in_browser import (  # noqa: F401
    log_in,
    person_context,
    step_up_in_the_browser,
)
from tests.web.test_journeys_in_browser import submit
from tests.web.test_recovery_journeys_in_browser import read_the_inbox
from tests.web.test_signature_journeys_in_browser import (  # noqa: F401
    P12_PASSWORD,
    add_sim_subscriber,
    approve_on_the_sandbox_page,
    issue_on_the_sandbox_page,
    local,
    signer_files,
    start_signer,
    stop_later,
)

pytestmark = pytest.mark.e2e

METHODS = "Các phương thức xác thực"


async def a_level_2_citizen_on_the_methods_page(api: httpx.Client, context: Any) -> tuple[Any, Any]:
    citizen = new_citizen(sex="female", year=1985)
    register(api, citizen)
    api.cookies.clear()
    await read_the_inbox(context, citizen)
    page = await log_in(context, citizen)
    assert "Mức 2" in await page.locator("main").inner_text()
    # Adding a method is a sensitive change: the session steps up first (password + OTP, the
    # strongest factor a level-2 account has), then comes back to the methods page.
    await page.goto("/tai-khoan/xac-thuc-lai?tiep=/tai-khoan/phuong-thuc-xac-thuc")
    await step_up_in_the_browser(page, context, citizen)
    await page.get_by_role("heading", name=METHODS).wait_for()
    return citizen, page


async def added_and_level_3(page: Any, type_title: str, screenshot: str) -> None:
    main = page.locator("main")
    assert "Đã thêm phương thức xác thực" in await main.inner_text()
    rows = await page.locator("table.methods tbody").inner_text()
    assert type_title in rows
    await check_page(page, screenshot)
    await page.locator("nav.side-nav").get_by_role("link", name="Thông tin định danh").click()
    await page.get_by_role("heading", name="Thông tin định danh").wait_for()
    assert "Mức 3" in await main.inner_text()


async def test_a_citizen_adds_a_sim_signature_from_the_account_page(
        api: httpx.Client, person_context: Any) -> None:  # noqa: F811
    citizen, page = await a_level_2_citizen_on_the_methods_page(api, person_context)
    phone = new_phone()
    await add_sim_subscriber(person_context, phone, citizen.full_name,
                             id_number=citizen.id_number)

    await page.get_by_label("Số điện thoại có Sim ký số").fill("123")  # refused beside the field
    await submit(page, "Thêm mới Sim ký số")
    assert await page.locator("#f-sim_phone-error").count() == 1
    await check_page(page, "80-phuong-thuc-sim-sai-so")
    await page.get_by_label("Số điện thoại có Sim ký số").fill(local(phone))
    await submit(page, "Thêm mới Sim ký số")
    await page.get_by_role("heading", name="Xác nhận thêm Sim ký số trên điện thoại").wait_for()
    code = await page.locator("#ma-xac-minh").inner_text()
    assert len(code) == 4 and code.isdigit()
    await check_page(page, "81-phuong-thuc-sim-cho-xac-nhan")
    # Approved on the "phone": the waiting screen's script moves on by itself.
    await approve_on_the_sandbox_page(person_context, phone, code)
    await page.get_by_text("Đã thêm phương thức xác thực").wait_for()
    await added_and_level_3(page, "SIM ký số", "82-phuong-thuc-sim-da-them")
    await check_page(page, "83-tai-khoan-muc-3-sim")


async def test_a_citizen_adds_a_usb_token_from_the_account_page(
        api: httpx.Client, context: Any, base_url: str, signer_files: Path,  # noqa: F811
        stop_later: list[subprocess.Popen[bytes]]) -> None:  # noqa: F811
    # The shared browser: a context's extra headers (person_context's client address) would
    # go to the agent too, whose CORS does not allow them.
    citizen, page = await a_level_2_citizen_on_the_methods_page(api, context)
    sandbox = await context.new_page()
    p12 = signer_files / "own.p12"
    p12.write_bytes(await issue_on_the_sandbox_page(sandbox, citizen.id_number, citizen.full_name))
    await sandbox.close()
    stop_later.append(start_signer(p12, base_url))

    await submit(page, "Thêm mới USB ký số")
    await page.get_by_role("heading", name="Thêm USB ký số").wait_for()
    await page.get_by_label("Chứng thư số").wait_for()
    assert citizen.full_name in await page.get_by_label("Chứng thư số").inner_text()
    await page.get_by_label("Mã PIN của USB ký số").fill(P12_PASSWORD)
    await check_page(page, "84-phuong-thuc-usb-ky")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Ký số").click()
    await added_and_level_3(page, "USB ký số", "85-phuong-thuc-usb-da-them")
    await check_page(page, "86-tai-khoan-muc-3-usb")
