"""Health, readiness, metrics, OpenAPI, unknown routes and the /dev forwarding."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.tests.conftest import StubService, assert_problem

pytestmark = pytest.mark.integration


async def test_healthz(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_needs_every_service(api: httpx.AsyncClient, nc: NATS,
                                          registration: StubService,
                                          profile: StubService) -> None:
    response = await api.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["nats"] == "ok" and checks["registration"] == "ok"
    assert checks["profile"] == "ok"
    assert checks["otp"] == "unavailable" and checks["pki"] == "unavailable"
    assert checks["oidc"] == "unavailable"

    others = [await StubService(nc, name).start() for name in ("otp", "pki", "oidc")]
    try:
        response = await api.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ready"
    finally:
        for stub in others:
            await stub.stop()


async def test_metrics_count_requests_by_route_template(api: httpx.AsyncClient,
                                                        registration: StubService) -> None:
    registration.fail("get", "not_found")
    await api.get("/api/v1/registrations/abc", headers={"X-Flow-Token": "t"})
    await api.get("/no/such/route")
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert ('dvcid_gateway_requests_total{method="GET",'
            'route="/api/v1/registrations/{registration_id}",status="404"} 1.0') in text
    assert 'route="unmatched",status="404"' in text
    assert "dvcid_gateway_request_duration_seconds_bucket" in text
    assert "/abc" not in text


async def test_unknown_routes_and_methods_are_problems(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get("/api/v1/nothing-here"), 404, "not_found")
    response = await api.delete("/api/v1/registrations")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


async def test_openapi_describes_every_route(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    paths = spec["paths"]
    for path, method in [
        ("/api/v1/registrations", "post"), ("/api/v1/registrations/{registration_id}", "get"),
        ("/api/v1/registrations/{registration_id}/otp", "post"),
        ("/api/v1/registrations/{registration_id}/otp/resend", "post"),
        ("/api/v1/registrations/{registration_id}/password", "post"),
        ("/api/v1/logins", "post"), ("/api/v1/logins/{login_id}", "get"),
        ("/api/v1/logins/{login_id}/otp", "post"),
        ("/api/v1/logins/{login_id}/otp/resend", "post"), ("/api/v1/logout", "post"),
        ("/api/v1/me", "get"), ("/healthz", "get"), ("/readyz", "get"), ("/metrics", "get"),
        ("/dev/{path}", "post"), ("/api/v1/dev/{path}", "get"),
    ]:
        assert method in paths[path], (path, method)
    created = paths["/api/v1/registrations"]["post"]["responses"]
    assert "201" in created and "application/problem+json" in created["422"]["content"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert (await api.get("/docs")).status_code == 200


async def test_dev_routes_reach_the_sandbox(api: httpx.AsyncClient) -> None:
    subscriber = {"phone": "0912000111", "id_number": "001090001235",
                  "full_name": "Bùi Văn Tú", "birth_date": "1990-05-12"}
    api.cookies.set("dvcid_session", "never-forwarded")
    response = await api.post("/api/v1/dev/telco-subscribers", json=subscriber)
    assert response.status_code == 201, response.text
    assert response.json()["phone"] == "+84912000111"
    response = await api.get("/dev/telco-subscribers/+84912000111")
    assert response.status_code == 200 and response.json()["full_name"] == "Bùi Văn Tú"
    response = await api.get("/api/v1/dev/sms", params={"phone": "0912000111"})
    assert response.status_code == 200 and response.json() == []
    response = await api.post("/dev/telco-subscribers", json=subscriber | {"phone": "123"})
    assert_problem(response, 422, "validation_error")


@pytest.fixture
async def api_without_sandbox(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings.model_copy(update={"sandbox_url": None}))
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gateway.test") as client:
        yield client


async def test_dev_routes_do_not_exist_without_a_sandbox(
    api_without_sandbox: httpx.AsyncClient,
) -> None:
    for path in ("/dev/sms", "/api/v1/dev/sms"):
        assert_problem(await api_without_sandbox.get(path), 404, "not_found")


async def test_an_unreachable_sandbox_is_503(settings: GatewaySettings) -> None:
    from dvcid.servers import free_port

    app = create_app(settings.model_copy(update={"sandbox_url": f"http://127.0.0.1:{free_port()}"}))
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gateway.test") as client:
        assert_problem(await client.get("/dev/sms"), 503, "service_unavailable")


def test_production_refuses_a_sandbox() -> None:
    with pytest.raises(ValueError, match="sandbox"):
        GatewaySettings(env="production", sandbox_url="http://127.0.0.1:8100",
                        web_secret="a-real-production-secret")


async def test_an_unexpected_error_is_a_500_problem(api: httpx.AsyncClient,
                                                    registration: StubService) -> None:
    registration.answer("start", "not an object")  # breaks the response model
    response = await api.post("/api/v1/registrations", json={"subject_type": "citizen",
                                                            "method": "usb"})
    assert_problem(response, 500, "internal")



async def test_a_crash_in_the_gateway_is_a_500_problem(app: FastAPI) -> None:
    async def crash() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/crash", crash)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            assert_problem(await client.get("/crash"), 500, "internal")


async def test_the_home_page_is_in_vietnamese_and_points_to_the_api(api: httpx.AsyncClient) -> None:
    response = await api.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in response.text
    assert "Cổng Dịch vụ công Quốc gia" in response.text and 'href="/docs"' in response.text
