"""The pages of registration by BHXH, the forgotten password and the login's OTP options, over
in-process HTTP with stand-in services: each form becomes its API's RPC payload, refusals land
beside their fields (or above the form when they name none), flow tokens never reach a page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from nats.aio.client import Client as NATS

from services.gateway.tests.conftest import StubService
from services.gateway.tests.test_web_pages import csrf_of, post_form, set_cookie_headers
from services.gateway.web.security import FLOW_COOKIES
from shared.rpc import RpcServer

pytestmark = pytest.mark.integration

BHXH_FORM = {"bhxh_code": "0107001122", "id_number": "001090001234",
             "full_name": "Nguyễn Văn An", "birth_date_day": "17", "birth_date_month": "05",
             "birth_date_year": "1990", "phone": "0912345678"}
BHXH_PAGE = "/dang-ky/cong-dan/bao-hiem-xa-hoi"
STARTED = {"id": "reg-1", "flow_token": "secret-flow-token", "status": "otp_sent",
           "phone_masked": "+8491****678", "resend_available_at": "2099-01-01T00:00:00Z"}
LOGIN = {"username": "001090001234", "password": "Hoa-Sen#2026vn"}
RECOVERY_ENDPOINTS = ("login_otp_phone", "login_lost_phone", "reset_start", "reset_resend_otp",
                      "reset_submit_otp", "reset_set_password")


class RecoveryStub(StubService):
    """The profile service's recovery endpoints (the shared stub serves the login ones)."""

    # Not the parent's __init__: it would wire the login endpoints (ENDPOINTS["profile"]),
    # which the ``profile`` fixture's stub already serves.
    def __init__(self, nc: NATS) -> None:
        self.name = "profile"
        self.calls = []
        self._answers = {}
        self._server = RpcServer(nc, "profile", "0.0.0", "recovery stand-in (web tests)")
        self._running = False
        for endpoint in RECOVERY_ENDPOINTS:
            self._server.endpoint(endpoint, self._handler(endpoint))


@pytest.fixture
async def recovery(nc: NATS) -> AsyncIterator[StubService]:
    stub = await RecoveryStub(nc).start()
    yield stub
    await stub.stop()


def field_block(page: httpx.Response, fid: str) -> str:
    found = re.search(rf'<(?:div|fieldset) class="field field--error"[^>]*>(?:(?!</div>).)*?'
                      rf'{re.escape(fid)}.*?</(?:div|fieldset)>', page.text, re.S)
    assert found, f"no field {fid} in error"
    return found.group(0)


# --- registration by BHXH ---------------------------------------------------------------------

async def test_the_bhxh_form_sends_the_api_payload_then_the_otp_step(
        api: httpx.AsyncClient, registration: StubService) -> None:
    registration.answer("start", STARTED)
    registration.answer("get", {"id": "reg-1", "status": "otp_sent", "method": "bhxh",
                                "subject_type": "citizen"})
    method_page = await api.get("/dang-ky/cong-dan")
    assert f'href="{BHXH_PAGE}"' in method_page.text
    response = await post_form(api, BHXH_PAGE, BHXH_PAGE, BHXH_FORM)
    assert response.status_code == 303 and response.headers["location"] == "/dang-ky/otp"
    assert registration.payloads("start")[0] == {
        "subject_type": "citizen", "method": "bhxh", "bhxh_code": "0107001122",
        "id_number": "001090001234", "full_name": "Nguyễn Văn An", "birth_date": "1990-05-17",
        "phone": "0912345678"}  # the three date boxes become the API's ISO date
    otp_page = await api.get("/dang-ky/otp")
    assert "091****678" in otp_page.text and "secret-flow-token" not in otp_page.text


async def test_an_unknown_bhxh_code_is_shown_beside_the_code(
        api: httpx.AsyncClient, registration: StubService) -> None:
    registration.fail("start", "bhxh_not_found",
                      "Không tìm thấy mã số BHXH này trong cơ sở dữ liệu Bảo hiểm xã hội.")
    response = await post_form(api, BHXH_PAGE, BHXH_PAGE, BHXH_FORM)
    assert response.status_code == 400
    assert "Không tìm thấy mã số BHXH" in field_block(response, 'for="f-bhxh_code"')
    assert 'value="0107001122"' in response.text  # what was typed is kept


async def test_a_bhxh_mismatch_names_no_field(api: httpx.AsyncClient,
                                             registration: StubService) -> None:
    registration.fail("start", "bhxh_mismatch",
                      "Thông tin đăng ký không khớp với hồ sơ của mã số BHXH.")
    response = await post_form(api, BHXH_PAGE, BHXH_PAGE, BHXH_FORM)
    assert response.status_code == 400
    assert "Không đăng ký được tài khoản" in response.text
    assert "không khớp với hồ sơ" in response.text
    assert "field--error" not in response.text and 'aria-invalid="true"' not in response.text


async def test_a_phone_that_is_not_the_persons_is_shown_beside_the_phone(
        api: httpx.AsyncClient, registration: StubService) -> None:
    registration.fail("start", "bhxh_phone_mismatch",
                      "Số điện thoại đã nhập không phải số điện thoại của người có mã số BHXH này.")
    response = await post_form(api, BHXH_PAGE, BHXH_PAGE, BHXH_FORM)
    assert response.status_code == 400
    assert "không phải số điện thoại" in field_block(response, 'for="f-phone"')


async def test_an_existing_account_points_to_the_forgotten_password(
        api: httpx.AsyncClient, registration: StubService) -> None:
    registration.fail("start", "account_exists", "Số CCCD/CMND này đã có tài khoản.")
    response = await post_form(api, BHXH_PAGE, BHXH_PAGE, BHXH_FORM)
    assert response.status_code == 409 and 'href="/quen-mat-khau"' in response.text


async def test_the_sandbox_page_adds_a_bhxh_record(api: httpx.AsyncClient) -> None:
    record = {"record": "bhxh", "bhxh_code": "0199887766", "id_number": "001090001234",
              "full_name": "Nguyễn Văn An", "birth_date": "1990-05-17", "sex": "male",
              "phone": ""}
    response = await post_form(api, "/dev", "/dev", record)
    assert response.status_code == 303
    page = await api.get(response.headers["location"])
    assert "Đã thêm hồ sơ vào cơ sở dữ liệu Bảo hiểm xã hội" in page.text
    added = await api.get("/api/v1/dev/bhxh-records/0199887766")
    assert added.status_code == 200 and added.json()["sex"] == "male"
    assert added.json().get("phone") is None  # the blank optional phone is left out

    response = await post_form(api, "/dev", "/dev", record | {"bhxh_code": "12", "sex": ""})
    assert response.status_code == 422
    assert 'id="f-bhxh_bhxh_code-error"' in response.text
    assert 'id="f-bhxh_sex-error"' in response.text
    assert 'id="f-phone-error"' not in response.text  # the subscriber form stays clean


# --- forgotten password -----------------------------------------------------------------------

async def test_the_forgotten_password_steps_call_the_reset_endpoints(
        api: httpx.AsyncClient, recovery: StubService) -> None:
    recovery.answer("reset_start", {"id": "reset-1", "flow_token": "secret-reset-token",
                                    "status": "otp_sent", "phone_masked": "+8491****678",
                                    "expires_at": "2099-01-01T00:00:00Z",
                                    "resend_available_at": "2099-01-01T00:00:00Z"})
    recovery.answer("reset_submit_otp", {"status": "awaiting_password"})
    recovery.answer("reset_set_password", {"status": "completed"})
    login_page = await api.get("/dang-nhap")
    assert 'href="/quen-mat-khau"' in login_page.text

    response = await post_form(api, "/quen-mat-khau", "/quen-mat-khau",
                               {"username": " 001090001234 "})
    assert response.status_code == 303 and response.headers["location"] == "/quen-mat-khau/otp"
    assert recovery.payloads("reset_start")[0] == {
        "username": "001090001234", "ip": "203.0.113.7", "user_agent": "gateway-tests/1.0"}
    assert "httponly" in set_cookie_headers(response)[FLOW_COOKIES["reset"]]
    otp_page = await api.get("/quen-mat-khau/otp")
    assert "091****678" in otp_page.text and "secret-reset-token" not in otp_page.text
    assert "Gửi lại OTP" in otp_page.text  # the shared OTP screen's resend (issue 17)
    recovery.answer("reset_resend_otp", {"status": "otp_sent",
                                         "resend_available_at": "2099-01-01T00:00:00Z"})
    resent = await post_form(api, "/quen-mat-khau/otp", "/quen-mat-khau/otp/gui-lai", {})
    assert resent.status_code == 200 and "Mã OTP mới đã được gửi" in resent.text
    assert recovery.payloads("reset_resend_otp")[0] == {
        "id": "reset-1", "flow_token": "secret-reset-token", "ip": "203.0.113.7",
        "user_agent": "gateway-tests/1.0"}

    response = await post_form(api, "/quen-mat-khau/otp", "/quen-mat-khau/otp", {"code": "123456"})
    assert response.headers["location"] == "/quen-mat-khau/mat-khau"
    assert recovery.payloads("reset_submit_otp")[0] == {
        "id": "reset-1", "flow_token": "secret-reset-token", "code": "123456"}

    api.cookies.set("dvcid_session", "old-session")
    response = await post_form(api, "/quen-mat-khau/mat-khau", "/quen-mat-khau/mat-khau",
                               {"password": "Sen-Vang#2027vn",
                                "password_confirmation": "Sen-Vang#2027vn"})
    assert response.headers["location"] == "/quen-mat-khau/thanh-cong"
    assert recovery.payloads("reset_set_password")[0] == {
        "id": "reset-1", "flow_token": "secret-reset-token", "password": "Sen-Vang#2027vn",
        "password_confirmation": "Sen-Vang#2027vn"}
    cookies = set_cookie_headers(response)
    assert 'dvcid_session=""' in cookies["dvcid_session"]  # this browser's session ended too
    assert "max-age=0" in cookies[FLOW_COOKIES["reset"]]  # the flow is done
    done = await api.get("/quen-mat-khau/thanh-cong")
    assert "Đổi mật khẩu thành công" in done.text


async def test_the_forgotten_password_refusals_sit_beside_their_fields(
        api: httpx.AsyncClient, recovery: StubService, otp: StubService) -> None:
    # otp serves its timing: a code of the wrong length is told on the page (6 digits).
    recovery.fail("reset_start", "not_found", "Không tìm thấy tài khoản với tên đăng nhập này.")
    response = await post_form(api, "/quen-mat-khau", "/quen-mat-khau", {"username": "0010"})
    assert response.status_code == 404
    assert "Không tìm thấy tài khoản" in field_block(response, 'for="f-username"')

    recovery.answer("reset_start", {"id": "reset-1", "flow_token": "t", "status": "otp_sent",
                                    "phone_masked": "+8491****678",
                                    "expires_at": "2099-01-01T00:00:00Z"})
    await post_form(api, "/quen-mat-khau", "/quen-mat-khau", {"username": "001090001234"})
    recovery.fail("reset_set_password", "password_mismatch",
                  "Mật khẩu xác nhận không khớp với mật khẩu mới.")
    response = await post_form(api, "/quen-mat-khau/mat-khau", "/quen-mat-khau/mat-khau",
                               {"password": "Sen-Vang#2027vn", "password_confirmation": "x"})
    assert response.status_code == 422
    assert "không khớp" in field_block(response, 'for="f-password_confirmation"')
    assert "Sen-Vang#2027vn" not in response.text  # a password is never echoed back

    recovery.fail("reset_submit_otp", "flow_expired", "Phiên đã hết hạn.")
    # A code of the wrong length is refused on the page, before the service is asked.
    response = await post_form(api, "/quen-mat-khau/otp", "/quen-mat-khau/otp", {"code": "1"})
    assert response.status_code == 422 and "bạn đã nhập 1 chữ số" in response.text
    assert recovery.payloads("reset_submit_otp") == []
    response = await post_form(api, "/quen-mat-khau/otp", "/quen-mat-khau/otp", {"code": "123456"})
    assert response.status_code == 404 and "Lấy lại mật khẩu từ đầu" in response.text


# --- the login's OTP options ------------------------------------------------------------------

async def start_login(api: httpx.AsyncClient, profile: StubService,
                      alternatives: list[dict[str, str]]) -> None:
    profile.answer("login_start", {"id": "login-1", "flow_token": "secret-login-token",
                                   "status": "otp_sent", "phone_masked": "+8491****678",
                                   "alternatives": alternatives,
                                   "expires_at": "2099-01-01T00:00:00Z"})
    response = await post_form(api, "/dang-nhap", "/dang-nhap", LOGIN)
    assert response.headers["location"] == "/dang-nhap/otp"


async def test_the_otp_can_go_to_another_phone_of_the_account(
        api: httpx.AsyncClient, profile: StubService, recovery: StubService) -> None:
    await start_login(api, profile, [{"phone_id": "p-2", "phone_masked": "+8498****321"}])
    otp_page = await api.get("/dang-nhap/otp")
    assert "Chọn phương thức xác thực khác" in otp_page.text
    assert re.search(r'value="p-2"[^>]*> 098\*\*\*\*321', otp_page.text)
    assert "secret-login-token" not in otp_page.text

    response = await api.post("/dang-nhap/otp/so-khac", data={
        "phone_id": "someone-elses", "csrf_token": csrf_of(otp_page, "/dang-nhap/otp/so-khac")})
    assert response.status_code == 422 and 'id="f-phone_id-error"' in response.text
    assert recovery.payloads("login_otp_phone") == []  # only the listed phones are asked for

    recovery.answer("login_otp_phone", {"status": "otp_sent", "phone_masked": "+8498****321",
                                         "resend_available_at": "2099-01-01T00:00:00Z"})
    response = await post_form(api, "/dang-nhap/otp", "/dang-nhap/otp/so-khac", {"phone_id": "p-2"})
    assert response.status_code == 200
    assert "Mã OTP đã được gửi đến số điện thoại 098****321" in response.text
    assert recovery.payloads("login_otp_phone")[0] == {
        "id": "login-1", "flow_token": "secret-login-token", "phone_id": "p-2",
        "ip": "203.0.113.7", "user_agent": "gateway-tests/1.0"}
    again = await api.get("/dang-nhap/otp")  # the flow cookie remembers the new phone
    assert "<strong>098****321</strong>" in again.text


async def test_a_lost_phone_gets_the_code_on_a_new_number(
        api: httpx.AsyncClient, profile: StubService, recovery: StubService) -> None:
    await start_login(api, profile, [])
    otp_page = await api.get("/dang-nhap/otp")
    assert "/dang-nhap/otp/so-khac" not in otp_page.text  # no other phone to offer
    assert 'href="/dang-nhap/mat-so-dien-thoai"' in otp_page.text

    recovery.fail("login_lost_phone", "invalid_phone",
                  "Số điện thoại không hợp lệ, vui lòng nhập số di động Việt Nam.")
    response = await post_form(api, "/dang-nhap/mat-so-dien-thoai", "/dang-nhap/mat-so-dien-thoai",
                               {"phone": "12345"})
    assert response.status_code == 422
    assert "không hợp lệ" in field_block(response, 'for="f-phone"')

    recovery.answer("login_lost_phone", {"status": "otp_sent", "phone_masked": "+8488****555"})
    response = await post_form(api, "/dang-nhap/mat-so-dien-thoai", "/dang-nhap/mat-so-dien-thoai",
                               {"phone": "0888000555"})
    assert response.status_code == 200 and "088****555" in response.text
    assert "thông tin thuê bao của nhà mạng" in response.text
    assert recovery.payloads("login_lost_phone")[-1] == {
        "id": "login-1", "flow_token": "secret-login-token", "phone": "0888000555",
        "ip": "203.0.113.7", "user_agent": "gateway-tests/1.0"}

    profile.fail("login_submit_otp", "subscriber_mismatch",
                 "Số điện thoại mới không đứng tên chủ tài khoản.")
    response = await post_form(api, "/dang-nhap/otp", "/dang-nhap/otp", {"code": "123456"})
    assert response.status_code == 400
    assert "không đứng tên chủ tài khoản" in response.text
