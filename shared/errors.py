"""The base of every service's own error hierarchy (each service subclasses it once).

An error a caller may see carries a stable English ``code`` (API.md) and a Vietnamese
``detail`` a person can act on; ``to_error()`` is the reply's error object
(docs/messaging.md). Only the gateway turns these into HTTP problems.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ServiceError(Exception):
    # Plain attribute, not ClassVar: errors passed through from another service set their own.
    code: str = "internal"
    default_detail: ClassVar[str] = "Đã có lỗi xảy ra, vui lòng thử lại sau."

    def __init__(
        self,
        detail: str | None = None,
        *,
        fields: list[dict[str, str]] | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.fields = fields
        self.retry_after = retry_after
        super().__init__(self.code)

    def to_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "detail": self.detail}
        if self.fields:
            error["fields"] = self.fields
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return error
