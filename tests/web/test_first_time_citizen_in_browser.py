"""What a first-time citizen trips on (issue 17), each checked in a real browser (Debian's
chromium), in the issue's order of harm: account pages on a 390 px phone, a 13-digit ID number
typed in full, the date of birth as three boxes, the captcha (refresh, any case, neutral
words), one message per rule, red fields and a visible focus, the OTP page's end, the step
indicator, the logout button's place. ``check_page`` adds axe-core and both screenshots."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.journeys import add_subscriber, client_ip, new_citizen, register
from tests.web.conftest import PHONE, SIDEWAYS_SCROLL_JS, check_page, new_context
from tests.web.test_account_journeys_in_browser import log_in
from tests.web.test_journeys_in_browser import (
    fill_mobile_registration,
    next_otp_from_the_sandbox_page,
    submit,
)
from tests.web.test_recovery_journeys_in_browser import read_the_inbox

pytestmark = pytest.mark.e2e

MOBILE_FORM = "/dang-ky/cong-dan/thue-bao-di-dong"
ERROR_RED = "rgb(176, 0, 32)"  # --error in site.css
# A browser on a phone whose user-agent string is long and has no spaces to break at.
LONG_USER_AGENT = ("Mozilla/5.0 (Linux; Android 14; SM-A546E Build/UP1A.231005.007; wv) "
                   "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.179 "
                   "Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/460.0.0.48.109;IABMV/1;]"
                   "ZaloTheme/light-ZaloLanguage/vi-ZaloVersion/24.05.01")

# The colour of what the focus ring shows against a white page: the outline's, when it is
# drawn, and every box-shadow colour (the GOV.UK style draws its black bar with a shadow).
FOCUS_COLOURS_JS = """(el) => {
  const s = getComputedStyle(el);
  const colours = [];
  if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) colours.push(s.outlineColor);
  for (const m of (s.boxShadow || '').matchAll(/rgba?\\([^)]*\\)/g)) colours.push(m[0]);
  return colours;
}"""


def _luminance(colour: str) -> float:
    red, green, blue = (int(v) / 255 for v in re.findall(r"[\d.]+", colour)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(one: str, other: str) -> float:
    """WCAG 2 contrast ratio of two ``rgb()`` colours."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest_asyncio.fixture(loop_scope="session")
async def own_context(browser: Any, base_url: str) -> AsyncIterator[Any]:
    """A browser of its own address: the per-IP guards of one test stay in that test."""
    ctx = await new_context(browser, base_url,
                            extra_http_headers=client_ip(f"first-{random.random()}"))
    yield ctx
    await ctx.close()


async def fill_date_boxes(scope: Any, day: str, month: str, year: str) -> None:
    await scope.get_by_label("Ngày", exact=True).fill(day)
    await scope.get_by_label("Tháng", exact=True).fill(month)
    await scope.get_by_label("Năm", exact=True).fill(year)


# 1 -------------------------------------------------------------------------------------------
async def test_account_pages_fit_a_390px_phone_without_sideways_scrolling(
        api: httpx.Client, browser: Any, base_url: str) -> None:
    citizen = new_citizen(sex="female", year=1992)
    register(api, citizen)
    api.cookies.clear()
    phone = await new_context(browser, base_url, viewport=PHONE, is_mobile=True, has_touch=True,
                              user_agent=LONG_USER_AGENT,
                              extra_http_headers=client_ip(f"phone-{random.random()}"))
    try:
        await read_the_inbox(phone, citizen)
        page = await log_in(phone, citizen)
        for path, name in (("/tai-khoan", "i17-80-dien-thoai-thong-tin"),
                           ("/tai-khoan/phuong-thuc-xac-thuc", "i17-81-dien-thoai-phuong-thuc"),
                           ("/tai-khoan/dang-nhap", "i17-82-dien-thoai-quan-ly-dang-nhap"),
                           ("/tai-khoan/hoat-dong", "i17-83-dien-thoai-hoat-dong")):
            await page.goto(path)
            overflow = await page.evaluate(SIDEWAYS_SCROLL_JS)
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 390 px"
            # Every action of a row is on screen, not beyond its right edge.
            for button in await page.locator("main button, main a").all():
                box = await button.bounding_box()
                if box is not None:
                    assert box["x"] + box["width"] <= PHONE["width"], (path, await button.inner_text())
            await check_page(page, name)
    finally:
        await phone.close()


# 2 -------------------------------------------------------------------------------------------
async def test_a_13_digit_id_number_is_kept_whole_and_its_digits_counted(own_context: Any) -> None:
    citizen = new_citizen(sex="male", year=1990)
    page = await own_context.new_page()
    await page.goto(MOBILE_FORM)
    await fill_mobile_registration(page, citizen)
    id_field = page.get_by_label("Số CCCD/CMND")
    await id_field.fill("")
    await id_field.press_sequentially(citizen.id_number + "7")  # one digit too many, typed
    assert await id_field.input_value() == citizen.id_number + "7"
    await submit(page, "Đăng ký")
    error = page.locator("#f-id_number-error")
    assert "13 chữ số" in await error.inner_text()
    await check_page(page, "i17-84-cccd-13-chu-so")
    # Spaces between groups, as printed on the card, are no error.
    await id_field.fill(" ".join(re.findall(r"\d{1,3}", citizen.id_number)))
    await submit(page, "Đăng ký")
    assert await page.locator("#f-id_number-error").count() == 0


# 3 -------------------------------------------------------------------------------------------
async def test_date_of_birth_is_three_boxes_with_an_error_per_box(own_context: Any) -> None:
    page = await own_context.new_page()
    await page.goto(MOBILE_FORM)
    group = page.get_by_role("group", name=re.compile("Ngày sinh"))
    assert await page.locator("input[type=date]").count() == 0
    await fill_date_boxes(group, "17", "13", "90")
    await submit(page, "Đăng ký")
    assert await page.locator("#f-birth_date_day").get_attribute("aria-invalid") is None
    for box in ("month", "year"):
        assert await page.locator(f"#f-birth_date_{box}").get_attribute("aria-invalid") == "true"
        border = await page.locator(f"#f-birth_date_{box}").evaluate(
            "(el) => getComputedStyle(el).borderTopColor")
        assert border == ERROR_RED, box
    message = await group.inner_text()
    assert "Tháng" in message and "Năm" in message
    await check_page(page, "i17-85-ngay-sinh-ba-o")
    # The summary's link for the month takes the cursor to the month's box.
    await page.locator("#error-summary a[href='#f-birth_date_month']").click()
    assert await page.evaluate("document.activeElement.id") == "f-birth_date_month"
    # A date that does not exist is one message for the date, not three.
    await fill_date_boxes(group, "31", "02", "1990")
    await submit(page, "Đăng ký")
    assert "31/02/1990" in await page.locator("#f-birth_date-error").inner_text()


# 4 -------------------------------------------------------------------------------------------
async def test_the_captcha_can_be_changed_accepts_any_case_and_blames_no_one(
        own_context: Any) -> None:
    page = await own_context.new_page()
    name = f"001090{random.randrange(10**6):06d}"
    for _attempt in range(8):  # the account's failures until it asks for a captcha
        await page.goto("/dang-nhap")
        await page.get_by_label("Tên đăng nhập").fill(name)
        await page.locator("#f-password").fill("Sai-Mat-Khau#1")
        await submit(page, "Đăng nhập")
        if await page.locator("img.captcha").count():
            break
    main = page.locator("main")
    text = await main.inner_text()
    assert "nhiều lần đăng nhập không thành công" not in text.lower()
    assert "không phân biệt chữ hoa" in text.lower()
    first_id = await page.locator("input[name=captcha_id]").input_value()
    await check_page(page, "i17-86-ma-xac-thuc")
    await submit(page, "Đổi mã khác")
    assert await page.locator("input[name=captcha_id]").input_value() != first_id
    assert await page.get_by_label("Tên đăng nhập").input_value() == name
    assert await page.locator("#error-summary").count() == 0  # a new image is no error
    # An audio alternative for those who cannot see the image: a recording of digits.
    await submit(page, "Nghe mã bằng âm thanh")
    source = await page.locator("audio.captcha-audio").get_attribute("src")
    assert source is not None and source.startswith("data:audio/wav;base64,")
    await check_page(page, "i17-86b-ma-xac-thuc-am-thanh")
    await submit(page, "Đổi mã khác")
    # The test stack's captcha reads K7M3Q: typed in lower case, it is accepted (the refusal is
    # about the password, not the captcha).
    await page.locator("#f-password").fill("Sai-Mat-Khau#1")
    await page.get_by_label("Mã xác thực").fill("k7m3q")
    await submit(page, "Đăng nhập")
    assert await page.locator("#f-captcha-error").count() == 0


# 5 -------------------------------------------------------------------------------------------
async def test_an_empty_form_says_each_rule_once_in_plain_words(own_context: Any) -> None:
    page = await own_context.new_page()
    await page.goto(MOBILE_FORM)
    await submit(page, "Đăng ký")
    text = await page.locator("main").inner_text()
    assert "Dữ liệu gửi lên" not in text
    assert "male" not in text and "female" not in text
    for message in await page.locator("#error-summary li").all_inner_texts():
        # Once in the summary, once beside its field: never more.
        assert text.count(message.strip()) <= 2, message
    # The sex error's link moves the cursor to the first choice.
    await page.locator("#error-summary a[href='#f-sex']").click()
    assert await page.evaluate("document.activeElement.getAttribute('name')") == "sex"


# 6 -------------------------------------------------------------------------------------------
async def test_fields_in_error_are_red_and_the_focus_stands_out(own_context: Any) -> None:
    page = await own_context.new_page()
    await page.goto(MOBILE_FORM)
    await submit(page, "Đăng ký")
    border = await page.locator("#f-id_number").evaluate("(el) => getComputedStyle(el).borderTopColor")
    assert border == ERROR_RED
    white = "rgb(255, 255, 255)"
    for target in (page.locator("#f-full_name"), page.locator("main button[type=submit]"),
                   page.locator("main a").first):
        await target.focus()
        colours = await target.evaluate(FOCUS_COLOURS_JS)
        best = max((contrast(c, white) for c in colours), default=0.0)
        assert best >= 3, (await target.evaluate("(el) => el.outerHTML.slice(0, 80)"), colours)


# 7 -------------------------------------------------------------------------------------------
async def test_the_fifth_wrong_code_ends_the_registration_without_a_reload(
        api: httpx.Client, own_context: Any) -> None:
    citizen = new_citizen(sex="male", year=1987)
    add_subscriber(api, citizen)
    page = await own_context.new_page()
    await page.goto(MOBILE_FORM)
    await fill_mobile_registration(page, citizen)
    await submit(page, "Đăng ký")
    await page.get_by_role("heading", name="Xác nhận số điện thoại").wait_for()
    # A code of the wrong length is told as such, and costs no attempt.
    await page.get_by_label("Mã OTP").fill("12345")
    await submit(page, "Xác nhận")
    assert "6 chữ số" in await page.locator("#f-code-error").inner_text()
    # The page says how long the code lives, counting down.
    assert await page.locator("[data-expires-seconds]").count() == 1
    for _ in range(5):
        await page.get_by_label("Mã OTP").fill("000000")
        await submit(page, "Xác nhận")
    await page.get_by_role("heading", name="Đăng ký không thành công").wait_for(timeout=2_000)
    assert await page.get_by_role("link", name="Đăng ký lại").count() == 1
    await check_page(page, "i17-87-otp-sai-qua-so-lan")


# 8 -------------------------------------------------------------------------------------------
async def test_every_step_of_the_registration_says_where_you_are(
        api: httpx.Client, own_context: Any) -> None:
    citizen = new_citizen(sex="female", year=1995)
    add_subscriber(api, citizen)
    page = await own_context.new_page()
    await page.goto(MOBILE_FORM)
    assert "Bước 1/3" in await page.locator("main").inner_text()
    await fill_mobile_registration(page, citizen)
    await submit(page, "Đăng ký")
    await page.get_by_role("heading", name="Xác nhận số điện thoại").wait_for()
    assert "Bước 2/3: Xác nhận số điện thoại" in await page.locator("main").inner_text()
    # The number as people write it: 0 and the last three digits, not +84.
    assert "+84" not in await page.locator("main").inner_text()
    assert re.search(r"0\d{2}\*+\d{3}", await page.locator("main").inner_text())
    await check_page(page, "i17-88-buoc-2-tren-3")
    await page.get_by_label("Mã OTP").fill(await next_otp_from_the_sandbox_page(own_context, citizen))
    await submit(page, "Xác nhận")
    await page.get_by_role("heading", name="Đặt mật khẩu").wait_for()
    assert "Bước 3/3" in await page.locator("main").inner_text()
    # The checklist sits below the field (a phone's keyboard covers what is above it)...
    field = await page.locator("#f-password").bounding_box()
    rules = await page.locator("#password-rules-box").bounding_box()
    assert field is not None and rules is not None and rules["y"] >= field["y"] + field["height"]
    # ...and the password can be shown while typing it.
    await page.locator("#f-password").fill("Hoa-Sen#2026vn")
    await page.get_by_role("button", name="Hiện mật khẩu").first.click()
    assert await page.locator("#f-password").get_attribute("type") == "text"
    await page.get_by_role("button", name="Ẩn mật khẩu").first.click()
    assert await page.locator("#f-password").get_attribute("type") == "password"
    await check_page(page, "i17-89-buoc-3-tren-3")


# 10 ------------------------------------------------------------------------------------------
async def test_logging_out_is_not_part_of_the_contact_form(api: httpx.Client, own_context: Any) -> None:
    citizen = new_citizen(sex="male", year=1975)
    register(api, citizen)
    api.cookies.clear()
    await read_the_inbox(own_context, citizen)
    page = await log_in(own_context, citizen)
    save = await page.get_by_role("button", name="Lưu thông tin liên hệ").bounding_box()
    logout = page.locator("main").get_by_role("button", name="Đăng xuất")
    below = await logout.bounding_box()
    # Well apart from the contact form, under a heading of its own: not one of its buttons.
    assert save is not None and below is not None
    assert below["y"] - (save["y"] + save["height"]) >= 64
    assert await logout.evaluate(
        "(el) => el.closest('section').querySelector('h2').textContent") == "Kết thúc phiên làm việc"
    header_bottom = await page.locator("header").evaluate("(el) => el.getBoundingClientRect().bottom")
    heading_top = await page.locator("h1").evaluate("(el) => el.getBoundingClientRect().top")
    assert heading_top - header_bottom >= 32
