"""The requests profile answers, validated at its edge: a bad input changes nothing."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.profile.domain.errors import ValidationFailed

_Short = Field(min_length=1, max_length=200)
_Token = Field(min_length=1, max_length=200)


class Command(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)


class ClientInfo(Command):
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=512)


class StartLogin(ClientInfo):
    method: Literal["password"]
    username: str = _Short
    # Not stripped: spaces can be part of a password. Bounded so hashing stays cheap.
    password: str = Field(min_length=1, max_length=1024)
    # {id, answer}: checked by the login guard when the guard asks for it.
    captcha: dict[str, Any] | None = None

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, frozen=True)

    def login_name(self) -> str:
        return self.username.strip()


class FlowRef(Command):
    id: str = _Short
    flow_token: str = _Token


class FlowAction(FlowRef, ClientInfo):
    """A step of a flow that a client's request causes (its IP is throttled)."""


class SubmitLoginOtp(FlowRef, ClientInfo):
    code: str = Field(min_length=1, max_length=16)


class SessionRef(Command):
    session_token: str = _Token


_FIELD_DETAIL = "Giá trị không hợp lệ hoặc bị thiếu."

C = TypeVar("C", bound=Command)


def parse(command: type[C], payload: dict[str, Any]) -> C:
    """Validates a request; the error names the fields but never echoes their values."""
    try:
        return command.model_validate(payload)
    except ValidationError as exc:
        fields = [{"name": ".".join(str(p) for p in err["loc"]) or "body",
                   "detail": _FIELD_DETAIL} for err in exc.errors()]
        raise ValidationFailed(fields=fields) from None
