"""Quản lý đăng nhập over in-process HTTP with a stand-in profile: each login and session
shows its device in the words profile names it ("Chrome trên Windows", issue 14), never the
user-agent string; the API passes the words on next to the string."""

from __future__ import annotations

import httpx
import pytest

from services.gateway.tests.conftest import StubService

pytestmark = pytest.mark.integration

CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
LOGIN = {"at": "2026-03-01T01:02:03.000000+00:00", "method": "password", "result": "success",
         "reason": None, "ip": "203.0.113.5", "user_agent": CHROME_WINDOWS,
         "device": "Chrome trên Windows"}
SESSION = {"id": "s-2", "created_at": "2026-03-01T01:02:03.000000+00:00",
           "last_seen_at": "2026-03-01T01:05:00.000000+00:00", "ip": "203.0.113.9",
           "user_agent": "Mozilla/5.0 (Linux; Android 13) Zalo android/12100625",
           "device": "Zalo trên Android", "level": 2, "method": "password", "current": False,
           "expires_at": None}


async def test_the_page_names_each_device_in_words(api: httpx.AsyncClient,
                                                   profile: StubService) -> None:
    api.cookies.set("dvcid_session", "sess-1")
    older = LOGIN | {"device": None, "at": "2026-02-01T01:02:03.000000+00:00"}
    profile.answer("me_logins", {"items": [LOGIN, older]})
    profile.answer("me_sessions", {"items": [SESSION]})
    response = await api.get("/tai-khoan/dang-nhap")
    assert response.status_code == 200, response.text
    logins = response.text.split('class="logins"', 1)[1]
    assert "Chrome trên Windows" in logins and "Zalo trên Android" in response.text
    # A profile older than the words answers none: a dash, never the raw string.
    assert "—</td></tr>" in logins
    assert "Mozilla" not in response.text


async def test_the_api_passes_the_words_on(api: httpx.AsyncClient,
                                           profile: StubService) -> None:
    profile.answer("me_logins", {"items": [LOGIN]})
    profile.answer("me_sessions", {"items": [SESSION]})
    bearer = {"Authorization": "Bearer sess-1"}
    logins = (await api.get("/api/v1/me/logins", headers=bearer)).json()
    assert [(e["user_agent"], e["device"]) for e in logins] == [(CHROME_WINDOWS,
                                                                 "Chrome trên Windows")]
    sessions = (await api.get("/api/v1/me/sessions", headers=bearer)).json()
    assert [s["device"] for s in sessions] == ["Zalo trên Android"]
    spec = (await api.get("/openapi.json")).json()
    assert "device" in spec["components"]["schemas"]["LoginEntry"]["properties"]
