"""A browser's user-agent string in the words people know: "Chrome · Windows" (issue 17).

Only for showing sessions and logins to their owner; nothing is decided on it. The order of
the checks matters: Edge and Opera say "Chrome" too, Chrome says "Safari", Android says
"Linux" and iOS says "Mac OS X"."""

from __future__ import annotations

import re

_BROWSERS = (("Edge", r"\bEdg(e|A|iOS)?/"), ("Opera", r"\bOPR/|\bOpera\b"),
             ("Zalo", r"\bZalo"), ("Facebook", r"\bFB_IAB\b|\bFBAV/"),
             ("Cốc Cốc", r"\bcoc_coc_browser/"), ("Samsung Internet", r"\bSamsungBrowser/"),
             ("Firefox", r"\bFirefox/|\bFxiOS/"), ("Chrome", r"Chrome/|\bCriOS/"),
             ("Safari", r"\bSafari/"))
_SYSTEMS = (("Windows", r"\bWindows\b"), ("Android", r"\bAndroid\b"),
            ("iPhone", r"\biPhone\b"), ("iPad", r"\biPad\b"), ("macOS", r"\bMac OS X\b|\bMacintosh\b"),
            ("ChromeOS", r"\bCrOS\b"), ("Linux", r"\bLinux\b"))
UNKNOWN = "Thiết bị không xác định"


def device_name(user_agent: str | None) -> str:
    """``"Chrome · Windows"``, one part when only one is known; "—" for no string at all."""
    if not user_agent:
        return "—"
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, user_agent)), None)
    parts = [part for part in (browser, system) if part]
    return " · ".join(parts) if parts else UNKNOWN
