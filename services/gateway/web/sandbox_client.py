"""The sandbox pages' one way to the sandbox world (``/dev`` and its digital-signature part):
the client the app holds when the sandbox is on, a call that turns an unreachable sandbox into
the page's 503, and the sandbox's problems read as form errors.

Its own module so that ``sandbox.py`` and ``sandbox_signature.py`` share it without importing
each other.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request

from services.gateway.problems import DEFAULT_DETAIL
from services.gateway.web.guards import PageProblem
from services.gateway.web.rendering import FormErrors
from shared.logging import get_logger
from shared.rpc import RemoteError

log = get_logger(__name__)


def sandbox_client(request: Request) -> httpx.AsyncClient:
    """The app's sandbox client; without a sandbox (production) the pages do not exist: 404."""
    client: httpx.AsyncClient | None = getattr(request.app.state, "sandbox", None)
    if client is None:
        raise PageProblem(404, "Không tìm thấy trang", "Trang này chỉ có khi bật môi trường thử nghiệm.")
    return client


async def call_sandbox(client: httpx.AsyncClient, method: str, path: str,
                       **kwargs: Any) -> httpx.Response:
    try:
        return await client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        log.warning("sandbox unreachable", error=repr(exc))
        raise PageProblem(503, "Hệ thống đang bận", DEFAULT_DETAIL["service_unavailable"]) from exc


def sandbox_errors(answer: httpx.Response, on_form: tuple[str, ...],
                   rename: dict[str, str] | None = None) -> FormErrors:
    """The sandbox answers problems like the gateway: errors [{name, detail}]."""
    try:
        body: dict[str, Any] = answer.json()
    except ValueError:
        body = {}
    fields = [{"name": (rename or {}).get(str(e.get("name")), str(e.get("name"))),
               "detail": str(e.get("detail"))} for e in body.get("errors") or []]
    error = {"code": body.get("code") or "validation_error",
             "detail": body.get("detail") or DEFAULT_DETAIL["validation_error"], "fields": fields}
    errors = FormErrors.of(RemoteError(error), on_form)
    errors.status = answer.status_code if answer.status_code >= 400 else 400
    return errors
