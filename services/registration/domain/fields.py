"""Reading an untrusted JSON payload field by field, collecting every problem at once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.registration.domain.errors import ValidationFailed


class FieldErrors:
    """Collects ``{name, detail}`` problems; ``raise_if_any`` turns them into one error."""

    def __init__(self) -> None:
        self.fields: list[dict[str, str]] = []

    def add(self, name: str, detail: str) -> None:
        self.fields.append({"name": name, "detail": detail})

    def has(self, name: str) -> bool:
        return any(f["name"] == name for f in self.fields)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationFailed(self.fields)

    def required_text(self, payload: Mapping[str, Any], name: str, label: str) -> str | None:
        value = payload.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.add(name, f"Vui lòng nhập {label}.")
            return None
        if not isinstance(value, str):
            self.add(name, f"{label[:1].upper()}{label[1:]} phải là một chuỗi ký tự.")
            return None
        return value.strip()

    def optional_text(self, payload: Mapping[str, Any], name: str, label: str) -> str | None:
        value = payload.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            self.add(name, f"{label[:1].upper()}{label[1:]} phải là một chuỗi ký tự.")
            return None
        return value.strip()


def require_text(payload: Mapping[str, Any], name: str, label: str) -> str:
    """One required string field; raises ValidationFailed at once."""
    errors = FieldErrors()
    value = errors.required_text(payload, name, label)
    errors.raise_if_any()
    assert value is not None
    return value
