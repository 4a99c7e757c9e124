"""Reading the fields of a request (its contract model has checked their types and bounds),
collecting every problem a person can fix at once, in their words."""

from __future__ import annotations

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

    def required_text(self, value: str | None, name: str, label: str) -> str | None:
        """The value without surrounding spaces; a missing or blank one is named."""
        if value is None or not value.strip():
            self.add(name, f"Vui lòng nhập {label}.")
            return None
        return value.strip()


def optional_text(value: str | None) -> str | None:
    """The value without surrounding spaces; None when absent or blank."""
    if value is None or not value.strip():
        return None
    return value.strip()


def require_text(value: str | None, name: str, label: str) -> str:
    """One required field; raises ValidationFailed at once."""
    errors = FieldErrors()
    text = errors.required_text(value, name, label)
    errors.raise_if_any()
    assert text is not None
    return text
