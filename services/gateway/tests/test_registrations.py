"""Registration routes: shapes, forwarding to the registration service, the problems."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.gateway.tests.conftest import StubService, assert_problem

pytestmark = pytest.mark.integration

API = "/api/v1"
MOBILE = {"subject_type": "citizen", "method": "mobile", "id_number": "001090001234",
          "full_name": "Nguyễn Văn An", "birth_date": "1990-05-12", "sex": "male",
          "phone": "0912345678"}
STARTED = {"id": "reg-1", "flow_token": "tok-1", "status": "otp_sent",
           "expires_at": "2026-01-01T00:15:00Z", "phone_masked": "+8491****678",
           "resend_available_at": "2026-01-01T00:01:00Z"}
FLOW = {"X-Flow-Token": "tok-1"}


async def test_starting_a_registration_forwards_the_fields(api: httpx.AsyncClient,
                                                           registration: StubService) -> None:
    registration.answer("start", STARTED | {"later_field": 1})
    response = await api.post(f"{API}/registrations", json=MOBILE | {"email": ""})
    assert response.status_code == 201, response.text
    assert response.json() == STARTED | {"later_field": 1}  # new fields pass through
    assert registration.payloads("start") == [MOBILE]  # blank optional email is absent


async def test_each_method_has_its_own_shape(api: httpx.AsyncClient,
                                             registration: StubService) -> None:
    registration.answer("start", STARTED)
    bhxh = {"subject_type": "citizen", "method": "bhxh", "bhxh_code": "0123456789",
            "id_number": "001090001234", "full_name": "Nguyễn Văn An",
            "birth_date": "1990-05-12", "phone": "0912345678"}
    assert (await api.post(f"{API}/registrations", json=bhxh)).status_code == 201
    usb = {"subject_type": "enterprise", "method": "usb"}
    assert (await api.post(f"{API}/registrations", json=usb)).status_code == 201
    problem = assert_problem(await api.post(f"{API}/registrations", json=usb | {"phone": "1"}),
                             422, "validation_error")
    assert problem["errors"] == [{"name": "phone", "detail": "Trường này không được hỗ trợ."}]


async def test_wrong_types_name_the_fields(api: httpx.AsyncClient,
                                           registration: StubService) -> None:
    body = MOBILE | {"birth_date": 19900512, "sex": ["male"], "id_number": 1090001234}
    problem = assert_problem(await api.post(f"{API}/registrations", json=body), 422,
                             "validation_error")
    names = {e["name"] for e in problem["errors"]}
    assert names == {"birth_date", "sex", "id_number"}
    assert all(e["detail"] for e in problem["errors"])
    assert "birth_date" in problem["detail"]
    assert registration.calls == []


@pytest.mark.parametrize(("body", "field"), [
    ({k: v for k, v in MOBILE.items() if k != "phone"}, "phone"),
    (MOBILE | {"birth_date": "12/05/1990"}, "birth_date"),
    (MOBILE | {"birth_date": "1990-02-30"}, "birth_date"),
    (MOBILE | {"method": "fax"}, "method"),
    ({k: v for k, v in MOBILE.items() if k != "method"}, "method"),
    (MOBILE | {"subject_type": "agency"}, "subject_type"),
    (MOBILE | {"full_name": ""}, "full_name"),
])
async def test_missing_or_malformed_fields(api: httpx.AsyncClient, body: dict[str, Any],
                                           field: str) -> None:
    problem = assert_problem(await api.post(f"{API}/registrations", json=body), 422,
                             "validation_error")
    assert [e["name"] for e in problem["errors"]] == [field]


@pytest.mark.parametrize("content", [b'{"subject_type": "citizen",', b"not json", b"[1, 2"])
async def test_malformed_json_is_a_problem(api: httpx.AsyncClient, content: bytes) -> None:
    response = await api.post(f"{API}/registrations", content=content,
                              headers={"content-type": "application/json"})
    assert_problem(response, 400, "validation_error")


async def test_a_body_that_is_not_an_object(api: httpx.AsyncClient) -> None:
    assert_problem(await api.post(f"{API}/registrations", json=[1, 2]), 422, "validation_error")
    assert_problem(await api.post(f"{API}/registrations"), 422, "validation_error")


@pytest.mark.parametrize(("code", "status", "extra"), [
    ("invalid_id_number", 422, {"fields": [{"name": "id_number", "detail": "Sai mã tỉnh."}]}),
    ("invalid_phone", 422, {}),
    ("account_exists", 409, {}),
    ("subscriber_mismatch", 400, {}),
    ("rate_limited", 429, {"retry_after": 30}),
    ("internal", 500, {}),
])
async def test_domain_errors_become_problems(api: httpx.AsyncClient, registration: StubService,
                                             code: str, status: int,
                                             extra: dict[str, Any]) -> None:
    registration.fail("start", code, "Chi tiết tiếng Việt.", **extra)
    problem = assert_problem(await api.post(f"{API}/registrations", json=MOBILE), status, code)
    assert problem["detail"] == "Chi tiết tiếng Việt."
    if "fields" in extra:
        assert problem["errors"] == extra["fields"]


async def test_flow_routes_need_the_flow_token(api: httpx.AsyncClient,
                                               registration: StubService) -> None:
    registration.answer("get", {"id": "reg-1", "status": "otp_sent", "method": "mobile",
                                "subject_type": "citizen"})
    registration.answer("submit_otp", {"status": "awaiting_password"})
    assert_problem(await api.get(f"{API}/registrations/reg-1"), 404, "not_found")
    assert_problem(await api.post(f"{API}/registrations/reg-1/otp", json={"code": "123456"}),
                   404, "not_found")
    assert_problem(await api.post(f"{API}/registrations/reg-1/otp/resend"), 404, "not_found")
    assert registration.calls == []

    response = await api.get(f"{API}/registrations/reg-1", headers=FLOW)
    assert response.status_code == 200 and response.json()["status"] == "otp_sent"
    response = await api.post(f"{API}/registrations/reg-1/otp", json={"code": "123456"},
                              headers=FLOW)
    assert response.status_code == 200 and response.json() == {"status": "awaiting_password"}
    assert registration.payloads("get") == [{"id": "reg-1", "flow_token": "tok-1"}]
    assert registration.payloads("submit_otp") == [{"id": "reg-1", "flow_token": "tok-1",
                                                    "code": "123456"}]


async def test_an_id_no_service_mints_is_not_found_without_asking(
        api: httpx.AsyncClient, registration: StubService) -> None:
    assert_problem(await api.get(f"{API}/registrations/{'r' * 65}", headers=FLOW), 404,
                   "not_found")
    assert_problem(await api.post(f"{API}/registrations/{'r' * 65}/otp", json={"code": "1"},
                                  headers=FLOW), 404, "not_found")
    assert registration.calls == []


async def test_a_wrong_token_is_the_services_not_found(api: httpx.AsyncClient,
                                                       registration: StubService) -> None:
    registration.fail("get", "not_found")
    assert_problem(await api.get(f"{API}/registrations/reg-1", headers={"X-Flow-Token": "x"}),
                   404, "not_found")


async def test_otp_errors(api: httpx.AsyncClient, registration: StubService) -> None:
    url = f"{API}/registrations/reg-1/otp"
    for code, status in [("otp_invalid", 401), ("otp_expired", 401), ("flow_expired", 404),
                         ("flow_state", 409), ("otp_attempts_exceeded", 429)]:
        registration.fail("submit_otp", code)
        response = await api.post(url, json={"code": "000000"}, headers=FLOW)
        assert_problem(response, status, code)
    assert_problem(await api.post(url, json={"code": 123456}, headers=FLOW), 422,
                   "validation_error")


async def test_a_resend_too_soon_says_when_to_retry(api: httpx.AsyncClient,
                                                    registration: StubService) -> None:
    registration.fail("resend_otp", "otp_resend_too_soon", "Vui lòng đợi 42 giây.",
                      retry_after=42)
    response = await api.post(f"{API}/registrations/reg-1/otp/resend", headers=FLOW)
    problem = assert_problem(response, 429, "otp_resend_too_soon")
    assert response.headers["retry-after"] == "42"
    assert problem["retry_after"] == 42
    registration.answer("resend_otp", {"status": "otp_sent",
                                       "resend_available_at": "2026-01-01T00:02:00Z"})
    response = await api.post(f"{API}/registrations/reg-1/otp/resend", headers=FLOW)
    assert response.status_code == 200 and response.json()["status"] == "otp_sent"


async def test_choosing_the_password_creates_the_account(api: httpx.AsyncClient,
                                                         registration: StubService) -> None:
    registration.answer("set_password", {"status": "completed", "account_id": "acc-1",
                                         "level": 2})
    body = {"password": "Hoa-Sen#2026vn", "password_confirmation": "Hoa-Sen#2026vn"}
    response = await api.post(f"{API}/registrations/reg-1/password", json=body, headers=FLOW)
    assert response.status_code == 201
    assert response.json() == {"status": "completed", "account_id": "acc-1", "level": 2}
    assert registration.payloads("set_password") == [{"id": "reg-1", "flow_token": "tok-1",
                                                      **body}]
    registration.fail("set_password", "password_policy", "Mật khẩu cần ít nhất 8 ký tự.",
                      fields=[{"name": "password", "detail": "Ít nhất 8 ký tự."}])
    problem = assert_problem(await api.post(f"{API}/registrations/reg-1/password", json=body,
                                            headers=FLOW), 422, "password_policy")
    assert problem["errors"][0]["name"] == "password"


async def test_no_registration_service_is_503(api: httpx.AsyncClient,
                                              registration: StubService) -> None:
    await registration.stop()
    response = await api.post(f"{API}/registrations", json=MOBILE)
    problem = assert_problem(response, 503, "service_unavailable")
    assert "thử lại" in problem["detail"]
    assert response.headers["retry-after"]


async def test_a_service_too_slow_is_503(api: httpx.AsyncClient,
                                         registration: StubService) -> None:
    async def slow(_payload: dict[str, Any]) -> Any:
        import asyncio

        await asyncio.sleep(1.5)  # longer than the gateway's rpc_timeout in these tests
        return STARTED

    registration.respond_with("start", slow)
    assert_problem(await api.post(f"{API}/registrations", json=MOBILE), 503,
                   "service_unavailable")


async def test_a_usb_signature_and_the_confirmation_reach_registration(
        api: httpx.AsyncClient, registration: StubService) -> None:
    registration.answer("submit_signature", {"status": "awaiting_confirmation",
                                             "identity": {"id_number": "001090001234"}})
    registration.answer("confirm", {"status": "completed", "account_id": "a", "level": 3})
    headers = {"X-Flow-Token": "t"}
    response = await api.post(f"{API}/registrations/r/signature", headers=headers,
                              json={"certificate": "PEM", "chain": ["PEM2"], "signature": "c2ln"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "awaiting_confirmation"
    response = await api.post(f"{API}/registrations/r/confirm", headers=headers,
                              json={"email": ""})
    assert response.status_code == 201, response.text
    [signature] = registration.payloads("submit_signature")
    assert signature == {"id": "r", "flow_token": "t", "certificate": "PEM", "chain": ["PEM2"],
                         "signature": "c2ln"}
    assert registration.payloads("confirm") == [{"id": "r", "flow_token": "t"}]


async def test_a_signature_without_its_fields_is_refused_here(
        api: httpx.AsyncClient, registration: StubService) -> None:
    problem = assert_problem(await api.post(f"{API}/registrations/r/signature",
                                            headers={"X-Flow-Token": "t"},
                                            json={"certificate": "PEM"}), 422, "validation_error")
    assert problem["errors"][0]["name"] == "signature"
    assert registration.calls == []
