"""Commands the service accepts, checked at the edge: a bad input changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.otp.domain.errors import InvalidInput
from services.otp.domain.model import CODE_SHAPE, E164, PURPOSES

MAX_FLOW_ID_LENGTH = 128


@dataclass(frozen=True)
class IssueOtp:
    flow_id: str
    purpose: str
    phone: str

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> IssueOtp:
        problems = _flow_problems(payload)
        phone = _phone(payload, problems)
        _raise_if(problems)
        return cls(flow_id=payload["flow_id"], purpose=payload["purpose"], phone=phone)  # type: ignore[arg-type]


@dataclass(frozen=True)
class VerifyOtp:
    flow_id: str
    purpose: str
    code: str
    # The number the caller believes the code went to: a code verifies only for it.
    phone: str

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> VerifyOtp:
        problems = _flow_problems(payload)
        code = payload.get("code")
        code = code.strip() if isinstance(code, str) else code
        if not isinstance(code, str) or not CODE_SHAPE.match(code):
            problems.append({"name": "code", "detail": "Mã OTP gồm 6 chữ số."})
        phone = _phone(payload, problems)
        _raise_if(problems)
        return cls(flow_id=payload["flow_id"], purpose=payload["purpose"], code=code,  # type: ignore[arg-type]
                   phone=phone)  # type: ignore[arg-type]


def _phone(payload: Mapping[str, Any], problems: list[dict[str, str]]) -> str | None:
    phone = payload.get("phone")
    if not isinstance(phone, str) or not E164.match(phone):
        problems.append({"name": "phone",
                         "detail": "Số điện thoại phải ở dạng quốc tế, ví dụ +84912345678."})
        return None
    return phone


def _flow_problems(payload: Mapping[str, Any]) -> list[dict[str, str]]:
    problems = []
    flow_id = payload.get("flow_id")
    if not isinstance(flow_id, str) or not 0 < len(flow_id) <= MAX_FLOW_ID_LENGTH:
        problems.append({"name": "flow_id", "detail": "Thiếu hoặc sai mã luồng xử lý."})
    if payload.get("purpose") not in PURPOSES:
        problems.append({"name": "purpose",
                         "detail": f"Mục đích phải là một trong: {', '.join(PURPOSES)}."})
    return problems


def _raise_if(problems: list[dict[str, str]]) -> None:
    if problems:
        raise InvalidInput(fields=problems)
