"""``Idempotency-Key`` on the API's POST steps (services/gateway/idempotency.py), with the
real JetStream key-value bucket and stand-in services that count their calls."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from services.gateway.tests.conftest import StubService, assert_problem

NEW_USB = {"subject_type": "citizen", "method": "usb"}
STARTED = {"id": "r-1", "flow_token": "secret-flow-token", "status": "awaiting_signature",
           "challenge": "Y2hhbGxlbmdl"}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def test_same_key_and_body_replays_the_first_answer(
        api: httpx.AsyncClient, registration: StubService) -> None:
    registration.answer("start", STARTED)
    headers = key()
    first = await api.post("/api/v1/registrations", json=NEW_USB, headers=headers)
    again = await api.post("/api/v1/registrations", json=NEW_USB, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() == STARTED
    assert again.headers["idempotent-replayed"] == "true"
    assert len(registration.payloads("start")) == 1


async def test_the_key_is_quoted_or_not(api: httpx.AsyncClient,
                                        registration: StubService) -> None:
    # The draft sends it as a structured-field string: "…".
    registration.answer("start", STARTED)
    value = str(uuid.uuid4())
    await api.post("/api/v1/registrations", json=NEW_USB, headers={"Idempotency-Key": value})
    again = await api.post("/api/v1/registrations", json=NEW_USB,
                           headers={"Idempotency-Key": f'"{value}"'})
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert len(registration.payloads("start")) == 1


async def test_same_key_with_another_body_is_422(api: httpx.AsyncClient,
                                                 registration: StubService) -> None:
    registration.answer("start", STARTED)
    headers = key()
    await api.post("/api/v1/registrations", json=NEW_USB, headers=headers)
    response = await api.post("/api/v1/registrations", json=NEW_USB | {"subject_type": "enterprise"},
                              headers=headers)
    assert_problem(response, 422, "idempotency_key_reused")
    assert len(registration.payloads("start")) == 1


async def test_without_a_key_each_request_runs(api: httpx.AsyncClient,
                                               registration: StubService) -> None:
    registration.answer("start", STARTED)
    for _ in range(2):
        assert (await api.post("/api/v1/registrations", json=NEW_USB)).status_code == 201
    assert len(registration.payloads("start")) == 2


async def test_a_request_still_running_with_the_key_is_409(
        api: httpx.AsyncClient, registration: StubService) -> None:
    release, running = asyncio.Event(), asyncio.Event()

    async def slow(_payload: dict[str, Any]) -> dict[str, Any]:
        running.set()
        await release.wait()
        return STARTED

    registration.respond_with("start", slow)
    headers = key()
    first = asyncio.create_task(api.post("/api/v1/registrations", json=NEW_USB, headers=headers))
    await running.wait()
    second = await api.post("/api/v1/registrations", json=NEW_USB, headers=headers)
    assert_problem(second, 409, "idempotency_key_in_progress")
    release.set()
    assert (await first).status_code == 201
    replayed = await api.post("/api/v1/registrations", json=NEW_USB, headers=headers)
    assert replayed.json() == STARTED and len(registration.payloads("start")) == 1


async def test_an_unavailable_service_is_not_remembered(
        api: httpx.AsyncClient, registration: StubService) -> None:
    # The first try found no service (503): the retry with the same key runs the step.
    registration.fail("start", "service_unavailable")
    headers = key()
    assert_problem(await api.post("/api/v1/registrations", json=NEW_USB, headers=headers),
                   503, "service_unavailable")
    registration.answer("start", STARTED)
    again = await api.post("/api/v1/registrations", json=NEW_USB, headers=headers)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert len(registration.payloads("start")) == 2


async def test_creating_account_is_not_remembered(
        api: httpx.AsyncClient, registration: StubService) -> None:
    # 202 creating_account is not the step's last word (read-your-writes): the retry with the
    # same key asks again and gets completed once the account is usable.
    url = "/api/v1/registrations/r-1/password"
    body = {"password": "Hoa-Sen#2026vn", "password_confirmation": "Hoa-Sen#2026vn"}
    headers = key() | {"X-Flow-Token": "secret-flow-token"}
    registration.answer("set_password", {"status": "creating_account", "account_id": "a-1",
                                         "level": 2})
    first = await api.post(url, json=body, headers=headers)
    assert first.status_code == 202 and first.json()["status"] == "creating_account"
    registration.answer("set_password", {"status": "completed", "account_id": "a-1", "level": 2})
    again = await api.post(url, json=body, headers=headers)
    assert again.status_code == 201 and again.json()["status"] == "completed"
    assert len(registration.payloads("set_password")) == 2


async def test_a_refusal_is_replayed_and_the_step_not_run_again(
        api: httpx.AsyncClient, registration: StubService) -> None:
    # A wrong OTP answered once is answered the same to the retry: no second attempt burned.
    registration.fail("submit_otp", "otp_invalid", remaining_attempts=4)
    headers = {"X-Flow-Token": "t-1"} | key()
    for _ in range(2):
        response = await api.post("/api/v1/registrations/r-1/otp", json={"code": "123456"},
                                  headers=headers)
        assert_problem(response, 401, "otp_invalid")
    assert len(registration.payloads("submit_otp")) == 1


async def test_keys_belong_to_their_flow(api: httpx.AsyncClient,
                                         registration: StubService) -> None:
    # Another flow (another token) with the same key is another request, never a replay.
    registration.answer("submit_otp", {"status": "awaiting_password"})
    headers = key()
    for token in ("token-of-one-flow", "token-of-another"):
        response = await api.post("/api/v1/registrations/r-1/otp", json={"code": "123456"},
                                  headers=headers | {"X-Flow-Token": token})
        assert response.status_code == 200 and "idempotent-replayed" not in response.headers
    assert len(registration.payloads("submit_otp")) == 2


async def test_a_short_key_is_refused(api: httpx.AsyncClient, registration: StubService) -> None:
    registration.answer("start", STARTED)
    response = await api.post("/api/v1/registrations", json=NEW_USB,
                              headers={"Idempotency-Key": "1"})
    assert_problem(response, 400, "idempotency_key_invalid")
    assert registration.payloads("start") == []


async def test_the_bucket_holds_no_answer_in_clear(api: httpx.AsyncClient, nc: Any,
                                                   registration: StubService) -> None:
    registration.answer("start", STARTED)
    await api.post("/api/v1/registrations", json=NEW_USB, headers=key())
    js = nc.jetstream()
    info = await js.stream_info("KV_DVCID_IDEMPOTENCY")
    stored = [(await js.get_msg("KV_DVCID_IDEMPOTENCY", info.state.last_seq)).data]
    assert stored[0] and b"secret-flow-token" not in stored[0] and b"usb" not in stored[0]
