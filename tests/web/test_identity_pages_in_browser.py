"""Thông tin định danh per subject type in a real browser (Debian's chromium): an enterprise
(registered by Sim ký số over the API, logged in on the Sim ký số tab, the request approved on
the sandbox page) sees its name, tax code and e-mail; an agency (made with ``dvcid.admin``,
logged in on the Bưu điện tab with the forced password change and the OTP) sees its name and
code. Screenshots in test-output/screenshots/."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from dvcid.admin import create_agency
from dvcid.devstack import DevStack
from tests.journeys import API, Citizen, client_ip
from tests.test_usb_sim_e2e import add_sim, new_phone, new_tax_code, poll, post, start
from tests.web.conftest import check_page, new_context
from tests.web.test_journeys_in_browser import submit
from tests.web.test_post_office_journeys_in_browser import first_login_on_the_post_office_tab
from tests.web.test_signature_journeys_in_browser import (
    SIM_PIN,
    approve_on_the_sandbox_page,
    local,
)

pytestmark = pytest.mark.e2e


def facts(text: str) -> dict[str, str]:
    """The identity list's ``<dt>``/``<dd>`` pairs, as inner_text gives them line by line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return dict(zip(lines[::2], lines[1::2], strict=False))


def register_enterprise_by_sim(api: httpx.Client, phone: str, tax_code: str, name: str) -> None:
    # The SIM's PIN is the one the sandbox page approves the login with.
    add_sim(api, phone, tax_code=tax_code, full_name=name, pin=SIM_PIN)
    flow = start(api, {"subject_type": "enterprise", "method": "sim", "phone": phone})
    response = api.post(f"{API}/dev/sim/{phone}/approve", json={"pin": SIM_PIN})
    assert response.status_code == 200, response.text
    assert poll(api, "registrations", flow)["status"] == "awaiting_confirmation"
    response = post(api, f"registrations/{flow['id']}/confirm", flow, {"email": "kt@senhong.vn"})
    assert response.status_code == 201, response.text


async def test_an_enterprise_reads_its_identity(api: httpx.Client, context: Any) -> None:
    phone, tax_code, name = new_phone(), new_tax_code(), "Công ty Cổ phần Sen Hồng"
    register_enterprise_by_sim(api, phone, tax_code, name)

    page = await context.new_page()
    # Once: the registration said completed, so the account is usable (read-your-writes).
    await page.goto("/dang-nhap?tab=sim")
    await page.get_by_label("Số điện thoại có Sim ký số").fill(local(phone))
    await submit(page, "Đăng nhập")
    await approve_on_the_sandbox_page(context, phone,
                                      await page.locator("#ma-xac-minh").inner_text())
    await page.wait_for_url(lambda url: "cho-xac-nhan" not in url)
    await page.get_by_role("heading", name="Thông tin định danh").wait_for()
    main = await page.locator("main").inner_text()
    assert "Đối tượng: Doanh nghiệp" in main and "Mức 3" in main
    shown = facts(await page.locator("dl.facts").inner_text())
    assert shown["Tên doanh nghiệp"] == name
    assert shown["Mã số thuế"] == tax_code
    assert shown["Email"] == "kt@senhong.vn"
    assert "Họ và tên" not in shown and "Số CCCD/CMND" not in shown
    await check_page(page, "90-thong-tin-dinh-danh-doanh-nghiep")


async def test_an_agency_reads_its_identity(browser: Any, base_url: str, stack: DevStack) -> None:
    code = f"000.00.{random.randrange(100):02d}.H{random.randrange(10**4):04d}"
    phone, name = f"097{random.randrange(10**7):07d}", "Sở Tư pháp Hà Nội"
    created = await create_agency(stack.nats_url, code=code, name=name, phone=phone,
                                  email="stp@hanoi.gov.vn", seed_file=stack.nats_seed("operator"))
    agency = Citizen(code, name, "", "", phone)
    context = await new_context(browser, base_url,
                                extra_http_headers=client_ip(f"agency-{random.random()}"))
    try:
        page = await context.new_page()
        await first_login_on_the_post_office_tab(page, context, agency, code,
                                                 created.initial_password, "91-co-quan")
        main = await page.locator("main").inner_text()
        assert "Đối tượng: Cơ quan nhà nước" in main
        shown = facts(await page.locator("dl.facts").inner_text())
        assert shown["Tên cơ quan"] == name
        assert shown["Mã định danh cơ quan"] == code
        assert shown["Email"] == "stp@hanoi.gov.vn"
        assert "Họ và tên" not in shown and "Mã số thuế" not in shown
        await check_page(page, "92-thong-tin-dinh-danh-co-quan")
    finally:
        await context.close()
