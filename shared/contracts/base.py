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


class ContractViolation(Exception):
    """A request that does not fit its contract reached a service (the gateway validates
    first, so this means a caller is out of date or sent what its own form let through).
    Answered as the gateway's ``validation_error`` (422); the fields are named, never their
    values."""

    code = "validation_error"

    def __init__(self, rpc: Rpc[Any, Any], fields: list[str]) -> None:
        super().__init__(f"{rpc.subject}: {', '.join(fields)}")
        self.fields = fields

    def to_error(self) -> dict[str, Any]:
        return {"code": self.code, "fields": self.fields}
