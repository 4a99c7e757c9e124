"""The account, first-password and counter pages over in-process HTTP with stand-in
services: the API's RPC payloads, refusals beside their fields or explained."""

from __future__ import annotations

import re

import httpx
import pytest

from services.gateway.tests.conftest import StubService
from services.gateway.tests.test_web_pages import post_form

pytestmark = pytest.mark.integration

LOGIN = {"username": "001090001234", "password": "Tam-Thoi#2026"}


async def test_the_cccd_tab_continues_a_forced_password_change_with_the_otp(
        api: httpx.AsyncClient, profile: StubService) -> None:
    profile.answer("login_start", {"id": "login-1", "flow_token": "tok",
                                   "status": "password_change_required",
                                   "expires_at": "2099-01-01T00:00:00Z"})
    profile.fail("login_change_password", "password_policy", "Mật khẩu chưa đạt yêu cầu.",
                 fields=[{"name": "new_password", "rule": "digit",
                          "detail": "Mật khẩu cần có ít nhất một chữ số."}])
    response = await post_form(api, "/dang-nhap", "/dang-nhap", LOGIN)
    assert response.status_code == 303
    assert response.headers["location"] == "/dang-nhap/doi-mat-khau"
    new = {"password": "Moi-Mat-Khau", "password_confirmation": "Moi-Mat-Khau"}
    response = await post_form(api, "/dang-nhap/doi-mat-khau", "/dang-nhap/doi-mat-khau", new)
    assert response.status_code == 422
    assert re.search(r'id="f-password-error">.*một chữ số', response.text)
    assert profile.payloads("login_change_password")[0] | {"ip": "", "user_agent": ""} == {
        "id": "login-1", "flow_token": "tok", "new_password": "Moi-Mat-Khau",
        "new_password_confirmation": "Moi-Mat-Khau", "ip": "", "user_agent": ""}
    profile.answer("login_change_password", {"status": "otp_sent",
                                             "phone_masked": "+8491****678"})
    response = await post_form(api, "/dang-nhap/doi-mat-khau", "/dang-nhap/doi-mat-khau", new)
    assert response.status_code == 303 and response.headers["location"] == "/dang-nhap/otp"
    assert "+8491****678" in (await api.get("/dang-nhap/otp")).text


async def test_an_old_session_is_told_to_log_in_again(api: httpx.AsyncClient,
                                                      profile: StubService) -> None:
    api.cookies.set("dvcid_session", "sess-1")
    profile.answer("me_auth_methods", {"items": [
        {"id": "m-1", "type": "password", "label": "Mật khẩu"},
        {"id": "m-2", "type": "sms", "label": "SMS +8491****678"}]})
    profile.fail("me_add_method", "reauthentication_required",
                 "Vui lòng đăng nhập lại để thực hiện thao tác này.")
    page = "/tai-khoan/phuong-thuc-xac-thuc"
    response = await post_form(api, page, f"{page}/them-sms", {"phone": "0987654321"})
    assert response.status_code == 403
    assert 'id="dang-nhap-lai"' in response.text and 'href="/dang-nhap">đăng nhập lại' in response.text
    assert profile.payloads("me_add_method")[0]["session_token"] == "sess-1"


async def test_the_counter_page_is_only_for_agents(api: httpx.AsyncClient,
                                                   profile: StubService) -> None:
    response = await api.get("/quay-buu-dien")
    assert response.status_code == 303
    assert response.headers["location"] == "/dang-nhap?tab=buu-dien"
    api.cookies.set("dvcid_session", "citizen")
    profile.fail("agent_session", "forbidden", "Không có quyền.")
    response = await api.get("/quay-buu-dien")
    assert response.status_code == 403 and "Không có quyền truy cập" in response.text
