"""The gateway over real HTTP (in-process ASGI) and a real NATS server, with tiny stand-in
services (``shared.rpc.RpcServer``) answering canned data or domain errors: this tests the
gateway's own logic (shapes, problems, statuses, cookies, CSRF, flow tokens, 503) without the
real services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS

from sandbox.app import create_app as create_sandbox
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from shared.bus import connect_nats
from shared.rpc import RpcServer

ENDPOINTS = {
    "registration": ["start", "get", "submit_otp", "resend_otp", "set_password",
                     "submit_signature", "confirm", "agent_register_start",
                     "agent_register_confirm", "agent_register_resend"],
    "profile": ["login_start", "login_get", "login_submit_otp", "login_resend_otp",
                "authenticate", "me", "logout", "login_submit_signature", "agent_session",
                "login_change_password", "me_auth_methods", "me_add_method",
                "me_activity", "me_remove_method", "me_reauth_start", "me_reauth_otp",
                "password_policy", "me_logins", "me_sessions"],
    "otp": ["issue", "verify", "policy"],
    "pki": ["status"],
    "oidc": ["metadata"],
}


class StubError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["code"])
        self.error = error

    def to_error(self) -> dict[str, Any]:
        return self.error


Answer = Callable[[dict[str, Any]], Any]


class StubService:
    """A stand-in for a service: records each call, answers what the test set up."""

    def __init__(self, nc: NATS, name: str) -> None:
        self.name = name
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._answers: dict[str, Answer] = {}
        self._server = RpcServer(nc, name, "0.0.0", f"stand-in for {name} (gateway tests)")
        self._running = False
        for endpoint in ENDPOINTS[name]:
            self._server.endpoint(endpoint, self._handler(endpoint))

    def answer(self, endpoint: str, data: Any) -> None:
        self._answers[endpoint] = lambda _payload: data

    def fail(self, endpoint: str, code: str, detail: str = "Lỗi thử nghiệm.",
             **extra: Any) -> None:
        error = {"code": code, "detail": detail, **extra}

        def refuse(_payload: dict[str, Any]) -> Any:
            raise StubError(error)

        self._answers[endpoint] = refuse

    def respond_with(self, endpoint: str, answer: Answer) -> None:
        self._answers[endpoint] = answer

    def payloads(self, endpoint: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.calls if name == endpoint]

    def _handler(self, endpoint: str) -> Callable[[dict[str, Any]], Any]:
        async def handle(payload: dict[str, Any]) -> Any:
            self.calls.append((endpoint, payload))
            answer = self._answers.get(endpoint)
            if answer is None:
                raise StubError({"code": "not_found", "detail": "Không có câu trả lời mẫu."})
            result = answer(payload)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return handle

    async def start(self) -> StubService:
        await self._server.start()
        self._running = True
        return self

    async def stop(self) -> None:
        if self._running:
            self._running = False
            await self._server.stop()


@pytest.fixture
async def nc(test_servers: Any) -> AsyncIterator[NATS]:
    # The test identity: this one connection plays both registration and profile (stubs).
    client = await connect_nats(test_servers.nats_url, name="gateway-tests",
                                seed_file=test_servers.nats_seed("test"), identity="test")
    yield client
    await client.drain()


@pytest.fixture
async def registration(nc: NATS) -> AsyncIterator[StubService]:
    stub = await StubService(nc, "registration").start()
    yield stub
    await stub.stop()


@pytest.fixture
async def profile(nc: NATS) -> AsyncIterator[StubService]:
    stub = await StubService(nc, "profile").start()
    yield stub
    await stub.stop()


# otp's timing as the real otp answers it (services/otp/handlers.py ``policy``): the OTP
# screens read it once (web/otp_timing.py).
OTP_POLICY = {"code_digits": 6, "code_lifetime_seconds": 300, "resend_interval_seconds": 60,
              "max_attempts": 5}


@pytest.fixture
async def otp(nc: NATS) -> AsyncIterator[StubService]:
    stub = await StubService(nc, "otp").start()
    stub.answer("policy", OTP_POLICY)
    yield stub
    await stub.stop()


@pytest.fixture
def settings(test_servers: Any) -> GatewaySettings:
    return GatewaySettings(env="test", nats_url=test_servers.nats_url, rpc_timeout=1.0,
                           sandbox_url="http://sandbox.test",
                           nats_nkey_seed_file=test_servers.nats_seed("gateway"))


@pytest.fixture
def sandbox() -> FastAPI:
    return create_sandbox()


@pytest.fixture
def app(settings: GatewaySettings, sandbox: FastAPI) -> FastAPI:
    return create_app(settings, sandbox_transport=httpx.ASGITransport(app=sandbox))


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the running gateway (lifespan included)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test",
                                     headers={"User-Agent": "gateway-tests/1.0"}) as client:
            yield client


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code and problem["status"] == status
    assert problem["type"] and problem["title"] and problem["detail"]
    return problem
