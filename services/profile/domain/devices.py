"""The device of a login or a session as people say it: "Chrome trên Windows", "Safari trên
iPhone", "Cốc Cốc trên Android" (issue 14). Only for showing the owner their own logins and
for the notice of a change; nothing is decided on it.

Profile is the one place that turns a user-agent string into words: the activity log keeps the
words (never the string), the notice of a change carries their ASCII form (an SMS stays in one
GSM segment) and the login history and the sessions list answer them next to the string, so
the gateway only shows them.

The parsing is uap-core's (``ua-parser`` with the ``ua-parser-builtins`` rules), extended the
way the library supports (matchers of ours ahead of its own) for a browser common in Vietnam it
does not know: Zalo's in-app browser (uap-core calls it a WebView). What comes out is always a
word from the tables below, a family missing from them left out: a user-agent string is
whatever a client sends, and none of its own text reaches a page, an e-mail or an SMS.

Parsing is pure (the same string gives the same words) but not free (uap-core tries hundreds
of patterns): the library's cache keeps recent answers, and nothing parses on the login path
itself (the history keeps the string and names the device when it is read).
"""

from __future__ import annotations

import unicodedata
from functools import cache

from ua_parser import (
    BasicResolver,
    Cache,
    CachingResolver,
    Domain,
    Matchers,
    Parser,
    load_builtins,
)
from ua_parser.matchers import UserAgentMatcher

UNKNOWN = "Thiết bị không xác định"
# Longer strings are cut before parsing (the gateway keeps 512 characters of the header).
_LONGEST = 512
# otp's notice of a change is one 160-character GSM segment with its longest change and time
# and a device of this many characters ("Samsung Internet tren Android" is cut to its browser).
SMS_DEVICE_LONGEST = 25
# Different user agents of one account and its neighbours in time; a few hundred KB at most.
_CACHE_SIZE = 2000

# Browsers uap-core does not name, checked before its own rules. Zalo: "... Mobile Safari/537.36
# Zalo android/12100625 ZaloTheme/light" and "... Mobile/15E148 Zalo iOS/502 ZaloTheme/light".
_VIETNAMESE_BROWSERS = [UserAgentMatcher(r"\bZalo (?:android|iOS)/(\d+)", "Zalo")]

# uap-core's browser families, as people know them. A WebView is absent on purpose: it is an
# app's window, not a browser its user chose, so only the system is named.
_BROWSERS: dict[str, str] = {
    "Chrome": "Chrome", "Chrome Mobile": "Chrome", "Chrome Mobile iOS": "Chrome",
    "HeadlessChrome": "Chrome", "Chromium": "Chromium",
    "Safari": "Safari", "Mobile Safari": "Safari",
    "Firefox": "Firefox", "Firefox Mobile": "Firefox", "Firefox iOS": "Firefox",
    "Firefox Beta": "Firefox",
    "Edge": "Edge", "Edge Mobile": "Edge",
    "Opera": "Opera", "Opera Mobile": "Opera", "Opera Mini": "Opera", "Opera GX": "Opera",
    "Opera Touch": "Opera",
    "Coc Coc": "Cốc Cốc", "Zalo": "Zalo", "Samsung Internet": "Samsung Internet",
    "UC Browser": "UC Browser", "Facebook": "Facebook", "Facebook Messenger": "Messenger",
}
# uap-core's system families; every Linux distribution is "Linux" (iOS is told by the device).
_SYSTEMS: dict[str, str] = {
    "Windows": "Windows", "Mac OS X": "macOS", "Mac OS": "macOS", "Android": "Android",
    "Chrome OS": "ChromeOS",
    **dict.fromkeys(("Linux", "Ubuntu", "Kubuntu", "Xubuntu", "Lubuntu", "Debian", "Fedora",
                     "Red Hat", "CentOS", "openSUSE", "SUSE", "Arch Linux", "Gentoo", "Mint",
                     "Linux Mint", "Mageia", "Slackware", "Manjaro"), "Linux"),
}


@cache
def _parser() -> Parser:
    """Built once per process, on first use (or by ``warm_up`` at start-up)."""
    browsers, systems, devices = load_builtins()
    matchers: Matchers = (_VIETNAMESE_BROWSERS + browsers, systems, devices)
    return Parser(CachingResolver(BasicResolver(matchers), Cache(_CACHE_SIZE)))


def warm_up() -> None:
    """Loads and compiles the rules now, so that the first reader does not wait for them."""
    device_words("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0 Safari/537.36")


def device_parts(user_agent: str | None) -> tuple[str | None, str | None]:
    """``("Chrome", "Windows")``: the browser and the system, each ``None`` when unknown."""
    if not user_agent:
        return None, None
    user_agent = user_agent[:_LONGEST]
    parse = _parser()
    result = parse(user_agent, Domain.USER_AGENT | Domain.OS)
    browser = _BROWSERS.get(result.user_agent.family) if result.user_agent else None
    system = _SYSTEMS.get(result.os.family) if result.os else None
    if result.os and result.os.family == "iOS":
        # The device rules (the most of uap-core's) only where the system needs them.
        device = parse.parse_device(user_agent)
        system = "iPad" if device and device.family.startswith("iPad") else "iPhone"
    return browser, system


def device_words(user_agent: str | None) -> str:
    """``"Chrome trên Windows"``; only one of them when the other is unknown; else UNKNOWN."""
    return _joined(*device_parts(user_agent)) or UNKNOWN


def device_ascii(user_agent: str | None) -> str:
    """The same words without diacritics, for an SMS: ``"Coc Coc tren Android"``,
    ``"thiet bi khong xac dinh"``."""
    return sms_words(*device_parts(user_agent))


def sms_words(browser: str | None, system: str | None) -> str:
    """Letters, spaces and dots only (otp checks so); the browser alone when both together
    would take the notice past one segment."""
    words = _joined(browser, system)
    if not words:
        return _ascii(UNKNOWN).lower()
    return _ascii(browser if browser and len(words) > SMS_DEVICE_LONGEST else words)


def _joined(browser: str | None, system: str | None) -> str | None:
    if browser and system:
        return f"{browser} trên {system}"
    return browser or system


def _ascii(text: str) -> str:
    """Vietnamese without its marks: "Cốc Cốc trên" → "Coc Coc tren" (đ → d)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))
