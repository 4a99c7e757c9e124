"""Notices: SMS messages that are not codes (an initial password issued at the post office).

The caller names a template (``body_kind``) and gives its parameters; the text is composed
here, so a secret parameter (the initial password) exists only in the request that carries it
and in the SMS itself: never in an event, a log line or the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.otp.domain.errors import InvalidInput
from services.otp.domain.model import E164, PURPOSES

INITIAL_PASSWORD = "initial_password"

# ASCII-only Vietnamese (no diacritics) keeps the message in one 160-character GSM segment.
_TEMPLATES: dict[str, str] = {
    INITIAL_PASSWORD: (
        "Tai khoan Cong DVCQG cua ban da duoc tao. Ten dang nhap: {username}, "
        "mat khau: {password}. Hay doi mat khau khi dang nhap lan dau. Khong chia se."
    ),
}
# Each parameter's allowed shape: nothing a template inserts can smuggle in other text.
_PARAMETERS: dict[str, dict[str, re.Pattern[str]]] = {
    INITIAL_PASSWORD: {
        "username": re.compile(r"^[A-Z]{2}\d{6,12}$"),
        "password": re.compile(r"^[\x21-\x7e]{8,32}$"),
    },
}
NOTICE_KINDS: tuple[str, ...] = tuple(_TEMPLATES)


@dataclass(frozen=True)
class SendNotice:
    phone: str
    purpose: str
    body_kind: str
    params: dict[str, str]

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> SendNotice:
        problems: list[dict[str, str]] = []
        phone = payload.get("phone")
        if not isinstance(phone, str) or not E164.match(phone):
            problems.append({"name": "phone",
                             "detail": "Số điện thoại phải ở dạng quốc tế, ví dụ +84912345678."})
        purpose = payload.get("purpose")
        if purpose not in PURPOSES:
            problems.append({"name": "purpose",
                             "detail": f"Mục đích phải là một trong: {', '.join(PURPOSES)}."})
        kind = payload.get("body_kind")
        raw = payload.get("params")
        params: dict[str, str] = {}
        if kind not in _TEMPLATES:
            problems.append({"name": "body_kind",
                             "detail": f"Loại tin nhắn phải là một trong: {', '.join(NOTICE_KINDS)}."})
        else:
            params, bad = _checked_params(str(kind), raw if isinstance(raw, Mapping) else {})
            # Only the names of bad parameters: their values may be secrets.
            problems.extend({"name": f"params.{name}", "detail": "Giá trị không hợp lệ."}
                            for name in bad)
        if problems:
            raise InvalidInput(fields=problems)
        return cls(phone=str(phone), purpose=str(purpose), body_kind=str(kind), params=params)

    def body(self) -> str:
        return _TEMPLATES[self.body_kind].format(**self.params)


def _checked_params(kind: str, raw: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    params: dict[str, str] = {}
    bad: list[str] = []
    for name, shape in _PARAMETERS[kind].items():
        value = raw.get(name)
        if isinstance(value, str) and shape.match(value):
            params[name] = value
        else:
            bad.append(name)
    return params, bad
