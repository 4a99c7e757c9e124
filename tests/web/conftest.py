"""Browser fixtures: Debian's chromium driven by Playwright, launched once per session against
the e2e stack (``stack`` in tests/conftest.py). Never ``playwright install``: the browser is
the system package (`.ci/run` installs it)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from dvcid.devstack import DevStack

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

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

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)",
                allow_module_level=True)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
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
    return context


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Any, base_url: str) -> AsyncIterator[Any]:
    ctx = await new_context(browser, base_url)
    yield ctx
    await ctx.close()


async def check_page(page: Any, name: str) -> None:
    """Every page: Vietnamese, one h1, every field labelled; then its screenshot."""
    assert await page.evaluate("document.documentElement.lang") == "vi"
    assert await page.locator("h1").count() == 1
    unlabelled = await page.evaluate(UNLABELLED_FIELDS_JS)
    assert unlabelled == [], f"{name}: fields without a label: {unlabelled}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def otp_in(text: str) -> str | None:
    found = re.search(r"\b(\d{6})\b", text)
    return found.group(1) if found else None
