"""``/dev/*`` and ``/api/v1/dev/*``: forwarded to the sandbox world (dev, demo and tests).

Only when ``DVCID_SANDBOX_URL`` is set (production refuses it); otherwise these paths do not
exist (404 problem). The caller's cookies and Authorization never leave the gateway.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request, Response

from services.gateway.problems import Problem, problem_responses
from services.gateway.routers import API_PREFIX
from shared.logging import get_logger

log = get_logger(__name__)

router = APIRouter(tags=["sandbox (dev only)"], responses=problem_responses(404, 422, 503))

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_FORWARDED_REQUEST_HEADERS = ("content-type", "accept")
_FORWARDED_RESPONSE_HEADERS = ("content-type", "location", "retry-after")


async def _forward(request: Request, path: str) -> Response:
    client: httpx.AsyncClient | None = request.app.state.sandbox
    if client is None:
        raise Problem("not_found")
    headers = {h: request.headers[h] for h in _FORWARDED_REQUEST_HEADERS if h in request.headers}
    try:
        answer = await client.request(request.method, f"/dev/{path}",
                                      params=request.url.query,
                                      content=await request.body(), headers=headers)
    except httpx.HTTPError as exc:
        log.warning("sandbox unreachable", error=repr(exc))
        raise Problem("service_unavailable") from exc
    return Response(content=answer.content, status_code=answer.status_code,
                    headers={h: answer.headers[h] for h in _FORWARDED_RESPONSE_HEADERS
                             if h in answer.headers})


async def forward_dev(path: str, request: Request) -> Response:
    return await _forward(request, path)


# One route per method, so each has its own operation id in the OpenAPI document.
for _method in _METHODS:
    for _prefix, _name in (("", "sandbox"), (API_PREFIX, "sandbox_api")):
        router.add_api_route(f"{_prefix}/dev/{{path:path}}", forward_dev, methods=[_method],
                             operation_id=f"{_name}_{_method.lower()}",
                             summary="Sandbox world (dev only)", response_class=Response)
