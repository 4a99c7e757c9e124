"""Browser fixtures: Debian's chromium driven by Playwright, launched once per session against
the e2e stack (``stack`` in tests/conftest.py). Never ``playwright install``: the browser is
the system package (`.ci/run` installs it).

``check_page`` runs on every page a browser test visits: language, one h1, labelled fields,
axe-core (through axe-playwright-python, which ships it: no serious or critical violation),
no sideways scrolling at a phone's 390 px, and a screenshot at 1280 px and at 390 px."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe
from playwright import async_api as playwright_api

from dvcid.devstack import DevStack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
# The two widths every page is seen at: a desktop and a common phone (issue 17).
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# axe-core's impacts that fail a page; "moderate" and "minor" are reported, not failed.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
SIDEWAYS_SCROLL_JS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
AXE = Axe()

# Every visible input, select and textarea must have a non-empty accessible label: a <label>
# (for= or wrapping), aria-labelledby or aria-label. Returns the offenders' HTML.
UNLABELLED_FIELDS_JS = """() => {
  const text = (el) => (el && el.textContent || '').trim();
  const offenders = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const style = getComputedStyle(el);
    const hidden = style.display === 'none' || style.visibility === 'hidden';
    if (hidden || el.getClientRects().length === 0) continue;
    const byLabel = Array.from(el.labels || []).some((label) => text(label));
    const byIds = (el.getAttribute('aria-labelledby') || '').split(/\\s+/)
      .some((id) => id && text(document.getElementById(id)));
    const byAria = (el.getAttribute('aria-label') || '').trim();
    if (!(byLabel || byIds || byAria)) offenders.push(el.outerHTML);
  }
  return offenders;
}"""

# A missing browser fails the browser tests, never skips them: a green run has run them.
CHROMIUM_PRESENT = CHROMIUM.exists()
CHROMIUM_MISSING = (f"{CHROMIUM} is missing: install it with `sudo apt-get install -y chromium` "
                    "(`make test` does it when run as root on Debian)")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM_PRESENT:
        pytest.fail(CHROMIUM_MISSING, pytrace=False)
    async with playwright_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                    args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture(scope="session")
def base_url(stack: DevStack) -> str:
    return stack.gateway_url


async def new_context(browser: Any, base_url: str, **options: Any) -> Any:
    context = await browser.new_context(base_url=base_url, locale="vi-VN", **options)
    context.set_default_timeout(15_000)
    # axe-core runs as a script in the page: a page without JavaScript cannot run it (its
    # timers never fire); the same templates are checked in the tests with scripts on.
    context.scripts_on = options.get("java_script_enabled", True)
    return context


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Any, base_url: str) -> AsyncIterator[Any]:
    ctx = await new_context(browser, base_url)
    yield ctx
    await ctx.close()


async def check_page(page: Any, name: str) -> None:
    """Every page: Vietnamese, one h1, every field labelled, no serious or critical axe-core
    violation, no sideways scroll on a phone; then its screenshots at 1280 and 390 px (the
    viewport is put back as it was, so the test goes on as it started)."""
    assert await page.evaluate("document.documentElement.lang") == "vi"
    assert await page.locator("h1").count() == 1
    unlabelled = await page.evaluate(UNLABELLED_FIELDS_JS)
    assert unlabelled == [], f"{name}: fields without a label: {unlabelled}"
    if getattr(page.context, "scripts_on", True):
        violations = await axe_violations(page)
        assert violations == [], f"{name}: axe-core: {violations}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    viewport = page.viewport_size
    try:
        await page.set_viewport_size(DESKTOP)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-1280.png"), full_page=True)
        await page.set_viewport_size(PHONE)
        overflow = await page.evaluate(SIDEWAYS_SCROLL_JS)
        assert overflow <= 0, f"{name}: scrolls sideways by {overflow}px at 390 px"
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-390.png"), full_page=True)
    finally:
        if viewport:
            await page.set_viewport_size(viewport)


async def axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations of the page, one line each (rule, impact,
    the first offending elements)."""
    results = await AXE.run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(str(node.get("html", ""))[:160] for node in v["nodes"][:3])
            for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]


async def fill_birth_date(scope: Any, iso_date: str) -> None:
    """The date of birth's three boxes (Ngày / Tháng / Năm) from ``YYYY-MM-DD``."""
    year, month, day = iso_date.split("-")
    group = scope.get_by_role("group", name=re.compile("Ngày sinh"))
    await group.get_by_label("Ngày", exact=True).fill(day)
    await group.get_by_label("Tháng", exact=True).fill(month)
    await group.get_by_label("Năm", exact=True).fill(year)


def otp_in(text: str) -> str | None:
    found = re.search(r"\b(\d{6})\b", text)
    return found.group(1) if found else None
