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
    assert "091****678" in (await api.get("/dang-nhap/otp")).text

# A method as profile lists it: when it was added, and (here) never used yet.
NEVER_USED = {"created_at": "2026-01-01T00:00:00+00:00", "last_used_at": None}



async def test_a_change_without_a_step_up_goes_to_xac_thuc_lai_and_back(
        api: httpx.AsyncClient, profile: StubService) -> None:
    api.cookies.set("dvcid_session", "sess-1")
    profile.answer("me_auth_methods", {"items": [
        {"id": "m-1", "type": "password", "label": "Mật khẩu"} | NEVER_USED,
        {"id": "m-2", "type": "sms", "label": "SMS +8491****678"} | NEVER_USED]})
    profile.fail("me_add_method", "reauthentication_required",
                 "Vì lý do an toàn, thao tác này cần xác thực lại.")
    page = "/tai-khoan/phuong-thuc-xac-thuc"
    response = await post_form(api, page, f"{page}/them-sms", {"phone": "0987654321"})
    assert response.status_code == 303
    step_up = "/tai-khoan/xac-thuc-lai?tiep=/tai-khoan/phuong-thuc-xac-thuc"
    assert response.headers["location"] == step_up
    assert profile.payloads("me_add_method")[0]["session_token"] == "sess-1"

    profile.answer("me_reauth_start", {"id": "su-1", "method": "password",
                                       "status": "otp_sent", "phone_masked": "+8491****678"})
    response = await post_form(api, step_up, "/tai-khoan/xac-thuc-lai",
                               {"password": "Hoa-Sen#2026vn", "tiep": page})
    assert response.status_code == 303
    assert response.headers["location"] == "/tai-khoan/xac-thuc-lai/otp"
    assert profile.payloads("me_reauth_start")[0] | {"ip": "", "user_agent": ""} == {
        "method": "password", "password": "Hoa-Sen#2026vn", "session_token": "sess-1",
        "ip": "", "user_agent": ""}
    otp = await api.get("/tai-khoan/xac-thuc-lai/otp")
    assert "091****678" in otp.text
    profile.answer("me_reauth_otp", {"status": "completed", "level": 2})
    response = await post_form(api, "/tai-khoan/xac-thuc-lai/otp", "/tai-khoan/xac-thuc-lai/otp",
                               {"code": "123456"})
    assert response.status_code == 303 and response.headers["location"] == page
    assert profile.payloads("me_reauth_otp")[0] == {"id": "su-1", "code": "123456",
                                                    "session_token": "sess-1"}


async def test_a_level3_change_asks_for_a_signature_and_never_leaves_the_site(
        api: httpx.AsyncClient, profile: StubService) -> None:
    api.cookies.set("dvcid_session", "sess-1")
    profile.answer("me_auth_methods", {"items": [
        {"id": "m-1", "type": "password", "label": "Mật khẩu"} | NEVER_USED,
        {"id": "m-2", "type": "sms", "label": "SMS +8491****678"} | NEVER_USED,
        {"id": "m-3", "type": "usb", "label": "USB ký số: Nguyễn Văn An"} | NEVER_USED]})
    profile.fail("me_remove_method", "insufficient_assurance", "Cần chữ ký số.")
    page = "/tai-khoan/phuong-thuc-xac-thuc"
    response = await post_form(api, page, f"{page}/xoa", {"method_id": "m-3"})
    assert response.status_code == 303
    response = await api.get(response.headers["location"])
    assert 'id="can-chu-ky-so"' in response.text
    assert 'action="/tai-khoan/xac-thuc-lai/usb"' in response.text
    # Only an account page of this site is a place to come back to.
    response = await api.get("/tai-khoan/xac-thuc-lai", params={"tiep": "https://evil.example/"})
    assert 'value="https://evil.example/"' not in response.text
    assert 'name="tiep" value="/tai-khoan/phuong-thuc-xac-thuc"' in response.text


async def test_the_counter_page_is_only_for_agents(api: httpx.AsyncClient,
                                                   profile: StubService) -> None:
    response = await api.get("/quay-buu-dien")
    assert response.status_code == 303
    assert response.headers["location"] == "/dang-nhap?tab=buu-dien"
    api.cookies.set("dvcid_session", "citizen")
    profile.fail("agent_session", "forbidden", "Không có quyền.")
    response = await api.get("/quay-buu-dien")
    assert response.status_code == 403 and "Không có quyền truy cập" in response.text
