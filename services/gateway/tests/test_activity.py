"""GET /api/v1/me/activity and the page Hoạt động của tài khoản over in-process HTTP with a
stand-in profile: the session decides whose log, the cursor rides in X-Next-Before / ?truoc,
entries are told in Vietnamese."""

from __future__ import annotations

import httpx
import pytest

from services.gateway.tests.conftest import StubService

pytestmark = pytest.mark.integration

ENTRY = {"seq": 7, "at": "2026-03-01T01:02:03.000000+00:00", "kind": "login_failed",
         "details": {"method": "password", "failures": 5, "ip": "203.0.113.5",
                     "device": "Chrome trên Windows",
                     "window_start": "2026-03-01T01:00:00.000000+00:00"}}


async def test_the_api_pages_the_callers_log(api: httpx.AsyncClient,
                                             profile: StubService) -> None:
    profile.answer("me_activity", {"items": [ENTRY], "next_before": 7})
    response = await api.get("/api/v1/me/activity", params={"limit": 1, "before": 8,
                                                            "account_id": "someone-else"},
                             headers={"Authorization": "Bearer sess-1"})
    assert response.status_code == 200, response.text
    assert response.json() == [ENTRY] and response.headers["X-Next-Before"] == "7"
    assert profile.payloads("me_activity") == [{"session_token": "sess-1", "limit": 1,
                                                "before": 8}]
    profile.fail("me_activity", "unauthenticated", "Phiên đăng nhập không hợp lệ.")
    response = await api.get("/api/v1/me/activity", headers={"Authorization": "Bearer old"})
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    response = await api.get("/api/v1/me/activity", params={"before": 0},
                             headers={"Authorization": "Bearer sess-1"})
    assert response.status_code == 422
    spec = (await api.get("/openapi.json")).json()
    assert "get" in spec["paths"]["/api/v1/me/activity"]


async def test_the_page_tells_the_entries(api: httpx.AsyncClient, profile: StubService) -> None:
    api.cookies.set("dvcid_session", "sess-1")
    profile.answer("me_activity", {"items": [ENTRY], "next_before": 7})
    response = await api.get("/tai-khoan/hoat-dong", params={"truoc": "12"})
    assert response.status_code == 200, response.text
    assert "Đăng nhập không thành công" in response.text
    assert "5 lần sai trong 15 phút" in response.text and "Chrome trên Windows" in response.text
    assert 'href="/tai-khoan/hoat-dong?truoc=7"' in response.text
    assert profile.payloads("me_activity")[0] == {"session_token": "sess-1", "limit": 20,
                                                  "before": 12}
    # A cursor that is not a seq is dropped, not sent.
    await api.get("/tai-khoan/hoat-dong", params={"truoc": "x'--"})
    assert "before" not in profile.payloads("me_activity")[1]
