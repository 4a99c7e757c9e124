"""Errors of the sandbox's own dev routes, in the same RFC 9457 shape as the gateway's, so a
call forwarded through the gateway's ``/dev`` answers like the rest of the API."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem(status: int, code: str, title: str, detail: str,
            errors: list[dict[str, str]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": f"urn:dvcid:problem:{code}", "title": title,
                            "status": status, "detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


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


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["name", "detail"],
            "properties": {"name": {"type": "string"}, "detail": {"type": "string"}}}},
    },
}
# What every dev route may answer besides its success: an unknown subject, an invalid field.
DEV_PROBLEMS = {"404": "Không tìm thấy", "422": "Dữ liệu không hợp lệ"}


def document_dev_problems(app: FastAPI) -> None:
    """The dev routes' errors in the OpenAPI document as they are answered: problems
    (``application/problem+json``), not FastAPI's default ``HTTPValidationError``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/dev/"):
                continue
            for operation in operations.values():
                for status, title in DEV_PROBLEMS.items():
                    operation.setdefault("responses", {})[status] = {
                        "description": title,
                        "content": {PROBLEM_MEDIA_TYPE: {
                            "schema": {"$ref": "#/components/schemas/Problem"}}}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
