"""The device of a login in people's words (issue 14): real user-agent strings, desktop and
mobile, the browsers common in Vietnam among them, and the words the owner reads; their
ASCII form for an SMS."""

from __future__ import annotations

import itertools
import re

import pytest

from services.profile.domain import devices
from services.profile.domain.devices import (
    SMS_DEVICE_LONGEST,
    UNKNOWN,
    device_ascii,
    device_parts,
    device_words,
    sms_words,
)

CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
COC_COC_ANDROID = ("Mozilla/5.0 (Linux; Android 13; SM-G991B) AppleWebKit/537.36 (KHTML, like "
                   "Gecko) coc_coc_browser/109.0.0.0 Chrome/123.0.0.0 Mobile Safari/537.36")
ZALO_ANDROID = ("Mozilla/5.0 (Linux; Android 12; SM-A525F Build/SP1A.210812.016; wv) "
                "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 "
                "Mobile Safari/537.36 Zalo android/12100625 ZaloTheme/light ZaloLanguage/vi")
ZALO_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_0_2 like Mac OS X) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) Mobile/15E148 Zalo iOS/502 ZaloTheme/light ZaloLanguage/vn")

# (user-agent string, what the owner reads)
REAL_USER_AGENTS = [
    # desktop
    (CHROME_WINDOWS, "Chrome trên Windows"),
    (CHROME_WINDOWS + " Edg/131.0.0.0", "Edge trên Windows"),
    (CHROME_WINDOWS + " OPR/115.0.0.0", "Opera trên Windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
     "Firefox trên Windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "coc_coc_browser/120.0.0 Chrome/114.0.5735.204 Safari/537.36", "Cốc Cốc trên Windows"),
    ("Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) "
     "coc_coc_browser/50.0.125 Chrome/44.0.2403.125 Safari/537.36", "Cốc Cốc trên Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Safari/605.1.15", "Safari trên macOS"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", "Chrome trên macOS"),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
     "Firefox trên Linux"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", "Chrome trên Linux"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", "Chrome trên ChromeOS"),
    # the browser tests' Chromium: Chrome to its user
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/124.0.6367.60 Safari/537.36", "Chrome trên Linux"),
    # phones and tablets
    (SAFARI_IPHONE, "Safari trên iPhone"),
    ("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Mobile/15E148 Safari/604.1", "Safari trên iPad"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome trên iPhone"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", "Firefox trên iPhone"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.6778.81 Mobile Safari/537.36", "Chrome trên Android"),
    ("Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", "Samsung Internet trên Android"),
    ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
     "Firefox trên Android"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0", "Edge trên Android"),
    (COC_COC_ANDROID, "Cốc Cốc trên Android"),
    # apps' own windows: Zalo is named (uap-core does not know it), Facebook is uap-core's
    (ZALO_ANDROID, "Zalo trên Android"),
    (ZALO_IPHONE, "Zalo trên iPhone"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/440.0.0.35.117;FBBV/537451233]", "Facebook trên iPhone"),
    # another app's WebView: not a browser its user chose, so the system only
    ("Mozilla/5.0 (Linux; Android 13; Pixel 6; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36", "Android"),
    # one of them unknown, or both
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) SomeNewBrowser/1.0", "Windows"),
    ("curl/8.5.0", UNKNOWN),
    ("python-httpx/0.28.1", UNKNOWN),
    ("something else", UNKNOWN),
    ("", UNKNOWN),
    (None, UNKNOWN),
]


@pytest.mark.parametrize(("user_agent", "words"), REAL_USER_AGENTS)
def test_a_device_reads_as_people_say_it(user_agent: str | None, words: str) -> None:
    assert device_words(user_agent) == words


@pytest.mark.parametrize(("user_agent", "ascii_words"), [
    (CHROME_WINDOWS, "Chrome tren Windows"),
    (COC_COC_ANDROID, "Coc Coc tren Android"),
    (SAFARI_IPHONE, "Safari tren iPhone"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) SomeNewBrowser/1.0", "Windows"),
    ("python-httpx/0.28.1", "thiet bi khong xac dinh"),
    (None, "thiet bi khong xac dinh"),
])
def test_the_sms_form_has_no_diacritics(user_agent: str | None, ascii_words: str) -> None:
    assert device_ascii(user_agent) == ascii_words


def test_every_word_an_sms_can_carry_is_what_otp_accepts() -> None:
    # otp's check of the parameter (services/otp/domain/notices.py): letters, spaces and
    # dots, no digit; short enough for the notice to stay one segment.
    sms_parameter = re.compile(r"^[A-Za-z .]{1,40}$")
    browsers = {*devices._BROWSERS.values(), None}
    systems = {*devices._SYSTEMS.values(), "iPhone", "iPad", None}
    for browser, system in itertools.product(browsers, systems):
        words = sms_words(browser, system)
        assert sms_parameter.match(words) and len(words) <= SMS_DEVICE_LONGEST, words
    assert sms_words("Samsung Internet", "Android") == "Samsung Internet"
    assert sms_words("Cốc Cốc", "iPhone") == "Coc Coc tren iPhone"


def test_a_string_sent_by_a_client_never_reaches_the_words() -> None:
    # uap-core's generic rules take a family from the string itself ("GoiNgay0912345678
    # Spider" below): only names from our tables come out.
    forged = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) GoiNgay0912345678 Spider/1.0"
    assert device_parts(forged) == (None, "Windows")
    assert device_words("Mozilla/5.0 (compatible; GoiNgay0912Bot/2.1)") == UNKNOWN


def test_a_very_long_string_is_cut_before_parsing() -> None:
    assert device_words(CHROME_WINDOWS + " " + "x" * 100_000) == "Chrome trên Windows"


def test_parsing_is_remembered() -> None:
    agent = SAFARI_IPHONE + " Test/remembered"
    devices.warm_up()
    resolver = devices._parser().resolver
    assert resolver.cache[agent] is None  # type: ignore[attr-defined]
    device_words(agent)
    assert resolver.cache[agent] is not None  # type: ignore[attr-defined]
