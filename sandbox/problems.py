"""Errors of the sandbox's own dev routes, in the same RFC 9457 shape as the gateway's, so a
call forwarded through the gateway's ``/dev`` answers like the rest of the API."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def problem(status: int, code: str, title: str, detail: str,
            errors: list[dict[str, str]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": f"urn:dvcid:problem:{code}", "title": title,
                            "status": status, "detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def not_found(detail: str) -> JSONResponse:
    return problem(404, "not_found", "Không tìm thấy", detail)


def invalid(errors: list[dict[str, str]]) -> JSONResponse:
    return problem(422, "validation_error", "Dữ liệu không hợp lệ",
                   "Dữ liệu gửi lên không hợp lệ: " + ", ".join(e["name"] for e in errors) + ".",
                   errors)


async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
        errors.append({"name": ".".join(location) or "body", "detail": str(error.get("msg"))})
    return invalid(errors)
