"""The gateway's FastAPI application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.gateway import SERVICE, VERSION, idempotency, oidc
from services.gateway.config import GatewaySettings
from services.gateway.idempotency import IdempotencyMiddleware, Records
from services.gateway.metrics import GatewayMetrics
from services.gateway.observability import RequestObservability, fastapi_options
from services.gateway.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from services.gateway.routers import account as account_management
from services.gateway.routers import activity as account_activity
from services.gateway.routers import agent as agent_counter
from services.gateway.routers import asyncapi as bus_contract
from services.gateway.routers import dev, health, logins, me, recovery, registrations
from services.gateway.session_mirror import MirrorBarrier, SessionMirror
from services.gateway.web import install_web
from shared.bus import connect_nats
from shared.http import retrying_transport
from shared.nats_tls import nats_tls_options
from shared.rpc import RpcClient
from shared.tracing import configure_tracing, shutdown_tracing

DESCRIPTION = """\
Tài khoản Cổng Dịch vụ công Quốc gia: the HTTP API of dvcid (contract: API.md).

Errors are RFC 9457 problems (`application/problem+json`) with a stable `code` and a
Vietnamese `detail`. Flows are created by a POST returning `id` and `flow_token`; later calls
send `X-Flow-Token`. Authenticated calls send `Authorization: Bearer <session_token>` or the
`dvcid_session` cookie (then unsafe methods also need `X-CSRF-Token` = the `dvcid_csrf`
cookie).

The bus between the services (every event and RPC subject, their JSON Schemas):
AsyncAPI 3.0 at [/asyncapi.yaml](/asyncapi.yaml) ([JSON](/asyncapi.json)).
"""


def create_app(settings: GatewaySettings | None = None, *,
               sandbox_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The app; its lifespan holds one NATS connection, one RPC client and one HTTP client
    for the sandbox. ``sandbox_transport`` lets tests serve the sandbox in-process."""
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_tracing(SERVICE)  # on only with an OTLP endpoint (shared/tracing.py)
        nc = await connect_nats(settings.nats_url, name=SERVICE,
                                seed_file=settings.nats_nkey_seed_file, identity=SERVICE,
                                **await nats_tls_options(settings.nats_tls_ca))
        app.state.nc = nc
        app.state.rpc = RpcClient(nc, timeout=settings.rpc_timeout)
        app.state.idempotency = Records(nc, settings)
        app.state.session_mirror = SessionMirror(app.state.rpc)
        app.state.session_mirror.start(nc)
        app.state.sandbox = (
            # A forwarded call survives the sandbox closing a pooled connection.
            httpx.AsyncClient(base_url=settings.sandbox_url,
                              transport=retrying_transport(sandbox_transport),
                              timeout=settings.sandbox_timeout)
            if settings.sandbox_url else None
        )
        try:
            yield
        finally:
            await app.state.session_mirror.stop()
            if app.state.sandbox is not None:
                await app.state.sandbox.aclose()
            await nc.drain()
            await asyncio.to_thread(shutdown_tracing)

    app = FastAPI(title="dvcid", version=VERSION, description=DESCRIPTION, lifespan=lifespan,
                  **fastapi_options())
    app.state.settings = settings
    app.state.metrics = GatewayMetrics()
    # Inside the metrics, so a replayed answer is counted like any other.
    app.add_middleware(MirrorBarrier)
    app.add_middleware(IdempotencyMiddleware, settings=settings)
    # Outermost: the request's span is current for everything below (its access log line too).
    app.add_middleware(RequestObservability, metrics=app.state.metrics)
    install_problem_handlers(app)
    app.include_router(registrations.router)
    app.include_router(logins.router)
    app.include_router(recovery.router)
    app.include_router(me.router)
    app.include_router(account_management.router)
    app.include_router(account_activity.router)
    app.include_router(agent_counter.router)
    app.include_router(health.router)
    app.include_router(bus_contract.router)
    app.include_router(dev.router)
    app.include_router(oidc.router)  # dvcid as an OpenID Provider (docs/oidc.md)
    install_web(app)  # the web pages (services/gateway/web)
    _problems_in_openapi(app)
    return app


def _problems_in_openapi(app: FastAPI) -> None:
    """Documents error answers under ``application/problem+json``, their real media type
    (FastAPI would list a response model under ``application/json``)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for answer in operation.get("responses", {}).values():
                    content = answer.get("content", {})
                    if PROBLEM_MEDIA_TYPE in content and "application/json" in content:
                        content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
        idempotency.document(schema, {"$ref": "#/components/schemas/ProblemDetails"},
                             PROBLEM_MEDIA_TYPE)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
