"""Login, session cookies, CSRF, logout and /me."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.gateway.dependencies import CurrentSession
from services.gateway.tests.conftest import StubService, assert_problem

pytestmark = pytest.mark.integration

API = "/api/v1"
FLOW = {"X-Flow-Token": "tok-9"}
LOGIN = {"method": "password", "username": "001090001234", "password": "Hoa-Sen#2026vn"}
STARTED = {"id": "login-9", "flow_token": "tok-9", "status": "otp_sent",
           "phone_masked": "+8491****678", "alternatives": [],
           "expires_at": "2026-01-01T00:10:00+00:00"}
COMPLETED = {"status": "completed", "session_token": "sess-secret", "session_id": "s-1",
             "expires_at": "2026-01-01T12:00:00Z", "level": 2}
ME = {"account_id": "acc-1", "subject_type": "citizen", "level": 2,
      "identity": {"id_number": "001090001234", "full_name": "Nguyễn Văn An"},
      "contacts": {"phones": [{"phone_id": "p-1", "phone_masked": "+8491****678", "otp": True}],
                   "email": None, "address": None}}


def use_cookies(api: httpx.AsyncClient, **cookies: str) -> None:
    api.cookies.clear()
    for name, value in cookies.items():
        api.cookies.set(name, value)


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name, lower-cased, attributes included."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        found[name] = header.lower()
    return found


async def test_a_password_login_passes_the_client_ip_and_user_agent(
    api: httpx.AsyncClient, profile: StubService
) -> None:
    profile.answer("login_start", STARTED)
    response = await api.post(f"{API}/logins", json=LOGIN)
    assert response.status_code == 201, response.text
    assert response.json() == STARTED
    assert profile.payloads("login_start") == [
        LOGIN | {"ip": "203.0.113.7", "user_agent": "gateway-tests/1.0"}]


async def test_a_post_office_account_must_change_its_password(api: httpx.AsyncClient,
                                                              profile: StubService) -> None:
    profile.answer("login_start", {"status": "password_change_required", "id": "l",
                                   "flow_token": "t", "expires_at": "2026-01-01T00:10:00Z"})
    response = await api.post(f"{API}/logins", json=LOGIN)
    assert response.status_code == 201
    assert response.json()["status"] == "password_change_required"


@pytest.mark.parametrize(("body", "answer"), [
    ({"method": "sim", "phone": "0912345678"}, {"verification_code": "0420"}),
    ({"method": "usb"}, {"challenge": "AAEC"}),
])
async def test_sim_and_usb_logins_go_to_profile(api: httpx.AsyncClient, profile: StubService,
                                                body: dict[str, Any],
                                                answer: dict[str, Any]) -> None:
    profile.answer("login_start", {"id": "l", "flow_token": "t", "status": "awaiting_signature",
                                   "expires_at": "2026-01-01T00:10:00Z"} | answer)
    response = await api.post(f"{API}/logins", json=body)
    assert response.status_code == 201, response.text
    assert response.json() | answer == response.json()
    [payload] = profile.payloads("login_start")
    assert payload["method"] == body["method"]


async def test_a_usb_signature_opens_the_session_with_cookies(api: httpx.AsyncClient,
                                                              profile: StubService) -> None:
    profile.answer("login_submit_signature", {"status": "completed", "session_token": "s",
                                              "session_id": "s-2", "level": 3,
                                              "expires_at": "2026-01-01T00:00:00Z"})
    response = await api.post(f"{API}/logins/l/signature", headers={"X-Flow-Token": "t"},
                              json={"certificate": "PEM", "signature": "c2ln"})
    assert response.status_code == 200, response.text
    assert response.cookies.get("dvcid_session") == "s"
    [payload] = profile.payloads("login_submit_signature")
    assert payload["id"] == "l" and payload["flow_token"] == "t"
    assert payload["certificate"] == "PEM" and "chain" not in payload


async def test_a_completed_sim_login_read_opens_the_session(api: httpx.AsyncClient,
                                                            profile: StubService) -> None:
    profile.answer("login_get", {"id": "l", "status": "completed", "method": "sim",
                                 "session_token": "s", "level": 3})
    response = await api.get(f"{API}/logins/l", headers={"X-Flow-Token": "t"})
    assert response.status_code == 200, response.text
    assert response.json()["session_token"] == "s"
    assert response.cookies.get("dvcid_session") == "s"


@pytest.mark.parametrize(("body", "field"), [
    ({"method": "password", "username": "001090001234"}, "password"),
    (LOGIN | {"password": 12345678}, "password"),
    (LOGIN | {"username": None}, "username"),
    (LOGIN | {"method": "otp"}, "method"),
])
async def test_bad_login_bodies(api: httpx.AsyncClient, body: dict[str, Any],
                                field: str) -> None:
    problem = assert_problem(await api.post(f"{API}/logins", json=body), 422,
                             "validation_error")
    assert [e["name"] for e in problem["errors"]] == [field]


@pytest.mark.parametrize(("code", "status"), [
    ("invalid_credentials", 401), ("captcha_required", 401), ("account_locked", 423),
])
async def test_login_refusals(api: httpx.AsyncClient, profile: StubService, code: str,
                              status: int) -> None:
    profile.fail("login_start", code)
    response = await api.post(f"{API}/logins", json=LOGIN)
    assert_problem(response, status, code)
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_reading_and_resending_a_login_flow(api: httpx.AsyncClient,
                                                  profile: StubService) -> None:
    profile.answer("login_get", {"id": "login-9", "status": "otp_sent", "method": "password"})
    profile.answer("login_resend_otp", {"status": "otp_sent",
                                        "resend_available_at": "2026-01-01T00:01:00Z"})
    assert_problem(await api.get(f"{API}/logins/login-9"), 404, "not_found")
    response = await api.get(f"{API}/logins/login-9", headers=FLOW)
    assert response.status_code == 200 and response.json()["method"] == "password"
    response = await api.post(f"{API}/logins/login-9/otp/resend", headers=FLOW)
    assert response.status_code == 200 and response.json()["status"] == "otp_sent"
    # The client's IP goes along: profile throttles the OTP SMS per IP.
    assert profile.payloads("login_resend_otp") == [{"id": "login-9", "flow_token": "tok-9",
                                                     "ip": "203.0.113.7",
                                                     "user_agent": "gateway-tests/1.0"}]


async def test_the_otp_opens_a_session_with_cookies(api: httpx.AsyncClient,
                                                    profile: StubService) -> None:
    profile.answer("login_submit_otp", COMPLETED)
    response = await api.post(f"{API}/logins/login-9/otp", json={"code": "123456"},
                              headers=FLOW)
    assert response.status_code == 200, response.text
    assert response.json() == COMPLETED
    assert profile.payloads("login_submit_otp") == [
        {"id": "login-9", "flow_token": "tok-9", "code": "123456", "ip": "203.0.113.7",
         "user_agent": "gateway-tests/1.0"}]
    cookies = set_cookies(response)
    session = cookies["dvcid_session"]
    assert session.startswith("dvcid_session=sess-secret")
    assert "httponly" in session and "samesite=lax" in session and "path=/" in session
    assert "max-age=43200" in session
    assert "secure" not in session  # env=test: plain HTTP
    csrf = cookies["dvcid_csrf"]
    assert "httponly" not in csrf and "samesite=lax" in csrf and "max-age=43200" in csrf
    assert len(response.cookies["dvcid_csrf"]) >= 32


async def test_cookies_are_secure_in_production_settings(api: httpx.AsyncClient,
                                                         profile: StubService,
                                                         app: Any) -> None:
    app.state.settings.cookie_secure = True
    profile.answer("login_submit_otp", COMPLETED)
    response = await api.post(f"{API}/logins/login-9/otp", json={"code": "123456"},
                              headers=FLOW)
    assert all("; secure" in c for c in set_cookies(response).values())


async def test_a_failed_otp_sets_no_cookie(api: httpx.AsyncClient, profile: StubService) -> None:
    profile.fail("login_submit_otp", "otp_invalid", "Mã OTP không đúng.")
    response = await api.post(f"{API}/logins/login-9/otp", json={"code": "000000"},
                              headers=FLOW)
    assert_problem(response, 401, "otp_invalid")
    assert set_cookies(response) == {}


async def test_me_with_a_bearer_token(api: httpx.AsyncClient, profile: StubService) -> None:
    profile.answer("me", ME)
    response = await api.get(f"{API}/me", headers={"Authorization": "Bearer sess-secret"})
    assert response.status_code == 200 and response.json() == ME
    assert profile.payloads("me") == [{"session_token": "sess-secret"}]


async def test_me_with_the_cookie(api: httpx.AsyncClient, profile: StubService) -> None:
    profile.answer("me", ME)
    use_cookies(api, dvcid_session="sess-cookie")
    response = await api.get(f"{API}/me")
    assert response.status_code == 200
    assert profile.payloads("me") == [{"session_token": "sess-cookie"}]


async def test_me_without_a_session_is_401(api: httpx.AsyncClient, profile: StubService) -> None:
    response = await api.get(f"{API}/me")
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert profile.calls == []
    profile.fail("me", "unauthenticated", "Phiên đăng nhập đã hết hạn.")
    assert_problem(await api.get(f"{API}/me", headers={"Authorization": "Bearer old"}), 401,
                   "unauthenticated")


async def test_cookie_logout_needs_the_csrf_token(api: httpx.AsyncClient,
                                                  profile: StubService) -> None:
    profile.answer("logout", {})
    use_cookies(api, dvcid_session="sess-cookie", dvcid_csrf="csrf-value")
    assert_problem(await api.post(f"{API}/logout"), 403, "forbidden")
    assert_problem(await api.post(f"{API}/logout", headers={"X-CSRF-Token": "other"}), 403,
                   "forbidden")
    use_cookies(api, dvcid_session="sess-cookie")
    assert_problem(await api.post(f"{API}/logout", headers={"X-CSRF-Token": ""}), 403,
                   "forbidden")
    assert profile.calls == []

    use_cookies(api, dvcid_session="sess-cookie", dvcid_csrf="csrf-value")
    response = await api.post(f"{API}/logout", headers={"X-CSRF-Token": "csrf-value"})
    assert response.status_code == 204 and response.content == b""
    assert profile.payloads("logout") == [{"session_token": "sess-cookie"}]
    cleared = set_cookies(response)
    assert set(cleared) == {"dvcid_session", "dvcid_csrf"}
    assert all("max-age=0" in c for c in cleared.values())


async def test_bearer_logout_needs_no_csrf_and_is_idempotent(api: httpx.AsyncClient,
                                                             profile: StubService) -> None:
    profile.answer("logout", {})
    bearer = {"Authorization": "Bearer sess-secret"}
    assert (await api.post(f"{API}/logout", headers=bearer)).status_code == 204
    profile.fail("logout", "unauthenticated")
    assert (await api.post(f"{API}/logout", headers=bearer)).status_code == 204
    assert_problem(await api.post(f"{API}/logout"), 401, "unauthenticated")


async def test_bearer_wins_over_a_cookie(api: httpx.AsyncClient, profile: StubService) -> None:
    profile.answer("logout", {})
    use_cookies(api, dvcid_session="from-cookie")
    response = await api.post(f"{API}/logout", headers={"Authorization": "Bearer from-header"})
    assert response.status_code == 204
    assert profile.payloads("logout") == [{"session_token": "from-header"}]


async def test_current_session_is_checked_by_profile(api: httpx.AsyncClient, app: Any,
                                                     profile: StubService) -> None:
    async def whoami(session: CurrentSession) -> dict[str, Any]:
        return {"account_id": session.account_id, "level": session.level}

    app.add_api_route("/test-whoami", whoami)
    profile.answer("authenticate", {"account_id": "acc-1", "session_id": "s-1", "level": 2,
                                    "expires_at": "2026-01-01T12:00:00Z"})
    response = await api.get("/test-whoami", headers={"Authorization": "Bearer sess-secret"})
    assert response.json() == {"account_id": "acc-1", "level": 2}
    assert profile.payloads("authenticate") == [{"session_token": "sess-secret"}]
    profile.fail("authenticate", "unauthenticated")
    assert_problem(await api.get("/test-whoami", headers={"Authorization": "Bearer x"}), 401,
                   "unauthenticated")
