"""The post office counter: only an agent's session registers, with its office attached, in
two steps (start, then the code the citizen reads back)."""

from __future__ import annotations

import httpx
import pytest

from services.gateway.tests.conftest import StubService, assert_problem

pytestmark = pytest.mark.integration

API = "/api/v1"
BEARER = {"Authorization": "Bearer agent-session"}
CITIZEN = {"id_number": "079185000001", "full_name": "Lê Thị Bích", "birth_date": "1985-01-01",
           "sex": "female", "phone": "0987654321", "id_document_checked": True}
AGENT = {"account_id": "agent-1", "session_id": "s-1", "level": 2,
         "office": {"name": "Bưu điện Hà Nội", "code": "HN-001"}}


async def test_an_agent_registers_a_citizen_with_the_office_of_the_session(
        api: httpx.AsyncClient, profile: StubService, registration: StubService) -> None:
    profile.answer("agent_session", AGENT)
    registration.answer("agent_register_start", {"id": "reg-1", "status": "otp_sent",
                                                 "phone_masked": "+8498****321"})
    response = await api.post(f"{API}/agent/registrations", json=CITIZEN, headers=BEARER)
    assert response.status_code == 201, response.text
    assert response.json() == {"id": "reg-1", "status": "otp_sent",
                               "phone_masked": "+8498****321"}
    assert profile.payloads("agent_session") == [{"session_token": "agent-session"}]
    assert registration.payloads("agent_register_start") == [
        CITIZEN | {"agent_account_id": "agent-1", "office": AGENT["office"]}]
    registration.answer("agent_register_confirm", {"account_id": "acc-9", "status": "completed",
                                                   "username": "BD0000000001", "level": 3,
                                                   "initial_password_sent": True})
    response = await api.post(f"{API}/agent/registrations/reg-1/otp", json={"code": "123456"},
                              headers=BEARER)
    assert response.status_code == 201, response.text
    assert response.json()["username"] == "BD0000000001"
    assert registration.payloads("agent_register_confirm") == [
        {"id": "reg-1", "code": "123456", "agent_account_id": "agent-1",
         "office": AGENT["office"]}]


async def test_a_stale_agent_session_is_sent_to_step_up(
        api: httpx.AsyncClient, profile: StubService, registration: StubService) -> None:
    profile.fail("agent_session", "reauthentication_required")
    response = await api.post(f"{API}/agent/registrations", json=CITIZEN, headers=BEARER)
    assert_problem(response, 403, "reauthentication_required")
    assert registration.payloads("agent_register_start") == []


async def test_any_other_account_is_forbidden_and_nothing_is_registered(
        api: httpx.AsyncClient, profile: StubService, registration: StubService) -> None:
    profile.fail("agent_session", "forbidden")
    response = await api.post(f"{API}/agent/registrations", json=CITIZEN, headers=BEARER)
    assert_problem(response, 403, "forbidden")
    assert registration.payloads("agent_register_start") == []


async def test_without_a_session_it_is_unauthenticated(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{API}/agent/registrations", json=CITIZEN)
    assert_problem(response, 401, "unauthenticated")


async def test_a_document_check_that_is_not_a_boolean_is_refused_at_the_edge(
        api: httpx.AsyncClient, profile: StubService) -> None:
    profile.answer("agent_session", AGENT)
    response = await api.post(f"{API}/agent/registrations",
                              json=CITIZEN | {"id_document_checked": "yes"}, headers=BEARER)
    assert_problem(response, 422, "validation_error")
