"""Registration and login with a digital signature in a real browser (Debian's chromium).

Sim ký số: the SIM subscriber is added and every signing request approved (with the SIM's PIN)
on the sandbox page, as its owner would on the phone; a citizen with JavaScript (the waiting
screen polls), an enterprise without (the "Tôi đã xác nhận trên điện thoại" button checks).
USB ký số: a test certificate issued on the sandbox page, its PKCS#12 given to a real
``dvcid signer`` started here on the port the stack's pages use (``SIGNER_PORT``); the page
first explains the missing agent, then signs through it. Screenshots in test-output/.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SIGNER_PORT
from tests.test_usb_sim_e2e import new_id_number, new_phone, new_tax_code
from tests.web.conftest import check_page, new_context
from tests.web.test_journeys_in_browser import submit

pytestmark = pytest.mark.e2e

SIM_PIN = "246810"
P12_PASSWORD = "135790"  # also the PIN the page asks for the PKCS#12 "token"
DVCID = Path(sys.executable).parent / "dvcid"


def local(phone: str) -> str:
    return "0" + phone[3:]


async def add_sim_subscriber(context: Any, phone: str, name: str, *, id_number: str = "",
                             tax_code: str = "", screenshot: str | None = None) -> None:
    page = await context.new_page()
    await page.goto("/dev")
    form = page.locator("form#them-sim-ky-so")
    await form.get_by_label("Số điện thoại").fill(local(phone))
    if tax_code:
        await form.get_by_label("Doanh nghiệp", exact=True).check()
        await form.get_by_label("Mã số thuế").fill(tax_code)
    else:
        await form.get_by_label("Số CCCD/CMND").fill(id_number)
    await form.get_by_label("Họ và tên / Tên doanh nghiệp").fill(name)
    await form.get_by_label("Mã PIN của Sim").fill(SIM_PIN)
    await submit(page, "Thêm Sim ký số")
    await page.get_by_text("Đã thêm Sim ký số").wait_for()
    if screenshot:
        await check_page(page, screenshot)
    await page.close()


async def approve_on_the_sandbox_page(context: Any, phone: str, code: str,
                                      screenshot: str | None = None) -> None:
    """The owner compares the code with the page's and types the PIN on the 'phone'."""
    page = await context.new_page()
    try:
        request = page.locator(f"li.sim-request[data-phone='{phone}']")
        await page.goto("/dev")
        assert await request.locator(".sim-code").inner_text() == code
        if screenshot:
            await check_page(page, screenshot)
        await request.get_by_label("Mã PIN").fill(SIM_PIN)
        async with page.expect_navigation():
            await request.get_by_role("button", name="Xác nhận ký").click()
        await page.get_by_text("Đã xác nhận yêu cầu ký").wait_for()
    finally:
        await page.close()


async def test_sim_registration_and_login_with_the_waiting_screen_polling(context: Any) -> None:
    phone, id_number = new_phone(), new_id_number()
    await add_sim_subscriber(context, phone, "Trần Thị Bình", id_number=id_number,
                             screenshot="40-sandbox-sim")
    page = await context.new_page()
    await page.goto("/dang-ky/cong-dan")
    async with page.expect_navigation():
        await page.locator("main").get_by_role("link", name="Sim ký số").click()
    await check_page(page, "41-dang-ky-sim")
    await page.get_by_label("Số điện thoại có Sim ký số").fill(local(phone))
    await submit(page, "Gửi yêu cầu ký")

    await page.get_by_role("heading", name="Xác nhận trên điện thoại").wait_for()
    code = await page.locator("#ma-xac-minh").inner_text()
    assert len(code) == 4 and code.isdigit()
    await check_page(page, "42-dang-ky-sim-cho-xac-nhan")
    # Approved elsewhere: the page's script notices by itself and moves on.
    await approve_on_the_sandbox_page(context, phone, code, screenshot="43-sandbox-yeu-cau-ky")
    await page.get_by_role("heading", name="Xác nhận thông tin đăng ký").wait_for()
    main = await page.locator("main").inner_text()
    assert id_number in main and "Trần Thị Bình" in main and "Căn cước công dân" in main
    await check_page(page, "44-dang-ky-xac-nhan-thong-tin")
    await submit(page, "Xác nhận và đăng ký")
    await page.get_by_role("heading", name="Đăng ký tài khoản thành công").wait_for()
    assert "mức xác minh 3" in await page.locator("main").inner_text()

    # Log in on the Sim ký số tab (retried while the account is being created from its event).
    deadline = time.monotonic() + 15
    while True:
        await page.goto("/dang-nhap?tab=sim")
        await page.get_by_label("Số điện thoại có Sim ký số").fill(local(phone))
        await submit(page, "Đăng nhập")
        await page.get_by_role("heading", name="Xác nhận đăng nhập trên điện thoại").wait_for()
        if time.monotonic() < deadline - 14:
            await check_page(page, "45-dang-nhap-sim-cho-xac-nhan")
        await approve_on_the_sandbox_page(context, phone,
                                          await page.locator("#ma-xac-minh").inner_text())
        await page.wait_for_url(lambda url: "cho-xac-nhan" not in url)
        if page.url.endswith("/tai-khoan") or time.monotonic() > deadline:
            break
        assert "chưa gắn với tài khoản" in await page.locator("main").inner_text()
        await asyncio.sleep(0.2)
    await page.get_by_role("heading", name="Thông tin định danh").wait_for()
    main = await page.locator("main").inner_text()
    assert id_number in main and "Mức 3" in main
    await check_page(page, "46-dang-nhap-sim-tai-khoan")


async def test_enterprise_sim_registration_without_javascript(browser: Any, base_url: str) -> None:
    context = await new_context(browser, base_url, java_script_enabled=False)
    try:
        phone, tax_code = new_phone(), new_tax_code()
        await add_sim_subscriber(context, phone, "Công ty TNHH Sen Vàng", tax_code=tax_code)
        page = await context.new_page()
        await page.goto("/dang-ky/doanh-nghiep/sim-ky-so")
        await page.get_by_label("Số điện thoại có Sim ký số").fill(local(phone))
        await submit(page, "Gửi yêu cầu ký")
        code = await page.locator("#ma-xac-minh").inner_text()
        await submit(page, "Tôi đã xác nhận trên điện thoại")  # not yet: still waiting
        await page.get_by_role("heading", name="Xác nhận trên điện thoại").wait_for()
        await approve_on_the_sandbox_page(context, phone, code)
        await submit(page, "Tôi đã xác nhận trên điện thoại")
        await page.get_by_role("heading", name="Xác nhận thông tin đăng ký").wait_for()
        assert tax_code in await page.locator("main").inner_text()
        await submit(page, "Xác nhận và đăng ký")  # no e-mail: required for enterprises
        email_field = page.locator(".field", has=page.locator("#f-email"))
        assert await page.locator("#f-email").get_attribute("aria-invalid") == "true"
        assert await email_field.locator(".field-error").count() == 1
        await check_page(page, "47-khong-js-doanh-nghiep-thieu-email")
        await page.get_by_label("Email").fill("ketoan@senvang.vn")
        await submit(page, "Xác nhận và đăng ký")
        await page.get_by_role("heading", name="Đăng ký tài khoản thành công").wait_for()

        await page.goto("/dang-nhap?tab=usb")  # USB needs the script: the page says so
        assert "cần bật JavaScript" in await page.locator("main").inner_text()
    finally:
        await context.close()


@pytest.fixture
def signer_files(tmp_path: Path) -> Path:
    return tmp_path


def start_signer(p12: Path, origin: str) -> subprocess.Popen[bytes]:
    env = os.environ | {"DVCID_SIGNER_PKCS12_READ_PASSWORD": P12_PASSWORD}
    proc = subprocess.Popen([str(DVCID), "signer", "--pkcs12", str(p12), "--origin", origin,
                             "--port", str(SIGNER_PORT)], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{SIGNER_PORT}/v1/status", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"dvcid signer exited: {proc.stderr.read() if proc.stderr else ''!r}")
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("dvcid signer did not answer")


@pytest.fixture
def stop_later() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def issue_on_the_sandbox_page(page: Any, id_number: str, name: str) -> bytes:
    await page.goto("/dev")
    form = page.locator("form#cap-chung-thu")
    await form.get_by_label("Số CCCD/CMND").fill(id_number)
    await form.get_by_label("Họ và tên / Tên doanh nghiệp").fill(name)
    await form.get_by_label("Mật khẩu tệp PKCS#12").fill(P12_PASSWORD)
    await submit(page, "Cấp chứng thư số")
    link = page.get_by_role("link", name="Tải tệp PKCS#12 (.p12)")
    href = str(await link.get_attribute("href"))
    await check_page(page, "50-sandbox-chung-thu-so")
    return base64.b64decode(href.split("base64,", 1)[1])


async def test_usb_registration_and_login_through_the_signing_agent(
        context: Any, base_url: str, signer_files: Path,
        stop_later: list[subprocess.Popen[bytes]]) -> None:
    id_number, name = new_id_number(), f"Lê Văn Cường {random.randrange(1000)}"
    page = await context.new_page()
    p12 = signer_files / "usb.p12"
    p12.write_bytes(await issue_on_the_sandbox_page(page, id_number, name))

    await page.goto("/dang-ky/cong-dan/usb-ky-so")
    await check_page(page, "51-dang-ky-usb")
    await submit(page, "Bắt đầu ký số")
    # No agent running yet: the page explains and offers the download.
    await page.get_by_role("heading", name="Chưa tìm thấy chương trình ký số").wait_for()
    assert "pip install" in await page.locator("#usb-no-agent").inner_text()
    await check_page(page, "52-dang-ky-usb-chua-co-chuong-trinh-ky")

    stop_later.append(start_signer(p12, base_url))
    await page.reload()
    await page.get_by_label("Chứng thư số").wait_for()
    assert name in await page.get_by_label("Chứng thư số").inner_text()
    await page.get_by_label("Mã PIN của USB ký số").fill("000000")  # wrong: the agent says so
    await page.get_by_role("button", name="Ký số").click()
    await page.locator("#usb-error").get_by_text("không đúng").wait_for()
    await check_page(page, "53-dang-ky-usb-sai-pin")
    await page.get_by_label("Mã PIN của USB ký số").fill(P12_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Ký số").click()
    await page.get_by_role("heading", name="Xác nhận thông tin đăng ký").wait_for()
    assert id_number in await page.locator("main").inner_text()
    await submit(page, "Xác nhận và đăng ký")
    await page.get_by_role("heading", name="Đăng ký tài khoản thành công").wait_for()

    deadline = time.monotonic() + 15
    while True:
        await page.goto("/dang-nhap?tab=usb")
        await submit(page, "Đăng nhập bằng USB ký số")
        await page.get_by_label("Mã PIN của USB ký số").fill(P12_PASSWORD)
        if time.monotonic() < deadline - 14:
            await check_page(page, "54-dang-nhap-usb")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Ký số").click()
        if page.url.endswith("/tai-khoan") or time.monotonic() > deadline:
            break
        assert "chưa gắn với tài khoản" in await page.locator("main").inner_text()
        await asyncio.sleep(0.2)
    await page.get_by_role("heading", name="Thông tin định danh").wait_for()
    assert id_number in await page.locator("main").inner_text()
    await check_page(page, "55-dang-nhap-usb-tai-khoan")
