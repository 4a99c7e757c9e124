"""Pure PKI rules. Errors raised by the service share one base class."""

from __future__ import annotations

from typing import Any


class PkiError(Exception):
    code = "internal"
    detail = "Lỗi xử lý chứng thư số."

    def to_error(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail}
