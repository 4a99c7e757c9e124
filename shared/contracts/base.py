"""What every contract is made of.

- :class:`Contract`: the base of every request and answer model. Unknown fields are refused
  (a caller that sends what the owner no longer reads learns it at once, in tests), models are
  frozen values.
- :class:`Rpc`: one endpoint: ``service``, ``endpoint``, ``request`` model, ``answer`` model.

An answer is sent as ``answer.model_dump(mode="json", exclude_unset=True)`` and read back with
``model_validate``: a field the owner did not set stays unset on the caller's side too, so a
gateway that returns ``answer.model_dump(mode="json", exclude_unset=True)`` answers exactly the
JSON the owner produced (no ``null`` fields appear that were never there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def wire(self) -> dict[str, Any]:
        """The JSON object sent over NATS (and, for answers, what the gateway returns)."""
        return self.model_dump(mode="json", exclude_unset=True)


class Empty(Contract):
    """A request or answer with no fields."""


RequestT = TypeVar("RequestT", bound=Contract)
AnswerT = TypeVar("AnswerT", bound=Contract)


@dataclass(frozen=True)
class Rpc(Generic[RequestT, AnswerT]):
    service: str
    endpoint: str
    request: type[RequestT]
    answer: type[AnswerT]

    @property
    def subject(self) -> str:
        return f"dvcid.{self.service}.{self.endpoint}"


# What a caller reads beside a refused field; the value itself is never repeated.
_FIELD_DETAIL = {
    "missing": "Thiếu trường bắt buộc.",
    "extra_forbidden": "Trường này không được chấp nhận.",
    "string_too_short": "Không được để trống.",
    "string_too_long": "Quá dài (tối đa {max_length} ký tự).",
    "too_long": "Quá nhiều mục (tối đa {max_length}).",
    "string_type": "Phải là một chuỗi ký tự.",
}
_DEFAULT_DETAIL = "Giá trị không hợp lệ."


class ContractViolation(Exception):
    """A request that does not fit its contract reached a service (the gateway validates
    first, so this means a caller is out of date or sent what its own form let through).
    Answered as the gateway's ``validation_error`` (422) with the fields named in the error
    shape every service uses (``{name, detail}``), never their values."""

    code = "validation_error"

    def __init__(self, rpc: Rpc[Any, Any], errors: list[dict[str, Any]]) -> None:
        problems: dict[str, str] = {}
        for error in errors:
            name = ".".join(str(part) for part in error.get("loc", ())) or "body"
            problems.setdefault(name, _detail(error))
        self.problems = dict(sorted(problems.items()))
        super().__init__(f"{rpc.subject}: {', '.join(self.problems)}")

    @property
    def fields(self) -> list[str]:
        return list(self.problems)

    def to_error(self) -> dict[str, Any]:
        return {"code": self.code,
                "detail": f"Dữ liệu gửi lên không hợp lệ, vui lòng kiểm tra: "
                          f"{', '.join(self.problems)}.",
                "fields": [{"name": name, "detail": detail}
                           for name, detail in self.problems.items()]}


def _detail(error: dict[str, Any]) -> str:
    template = _FIELD_DETAIL.get(str(error.get("type", "")), _DEFAULT_DETAIL)
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return _DEFAULT_DETAIL
