"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from nats.aio.client import Client as NATS
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

router = APIRouter(tags=["operations"])

# The services whose answers the API needs: ready only when each one answers a ping.
REQUIRED_SERVICES = ("otp", "registration", "profile", "pki", "oidc")
PING_TIMEOUT_SECONDS = 1.0


@router.get("/healthz", summary="Alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Ready: NATS connected and every service answers",
            responses={503: {"description": "Not ready"}})
async def readyz(request: Request) -> JSONResponse:
    nc: NATS = request.app.state.nc
    checks: dict[str, str] = {"nats": "ok" if nc.is_connected else "disconnected"}
    if nc.is_connected:
        answers = await asyncio.gather(*(_ping(nc, name) for name in REQUIRED_SERVICES))
        checks |= dict(zip(REQUIRED_SERVICES, answers, strict=True))
    else:
        checks |= dict.fromkeys(REQUIRED_SERVICES, "unknown")
    ready = all(state == "ok" for state in checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503)


async def _ping(nc: NATS, service: str) -> str:
    """A ping of the NATS service API (nats.micro): any instance of the service answers."""
    try:
        await nc.request(f"$SRV.PING.{service}", b"", timeout=PING_TIMEOUT_SECONDS)
    except Exception:  # no responders, timeout, connection lost: all mean "not ready"
        return "unavailable"
    return "ok"


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
