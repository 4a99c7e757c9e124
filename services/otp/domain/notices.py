"""Notices: SMS messages that are not codes (an initial password issued at the post office).

The caller names a template (``body_kind``) and gives its parameters; the text is composed
here, so a secret parameter (the initial password) exists only in the request that carries it
and in the SMS itself: never in an event, a log line or the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from services.otp.domain.errors import InvalidInput
from shared.contracts.otp import SendEmailNotice, SendNotice

INITIAL_PASSWORD = "initial_password"
# A sensitive change to the account, told to the phones it had before (profile).
SECURITY_CHANGE = "security_change"
# What changed, as the notice says it (the caller names the kind, never the words).
_CHANGES: dict[str, str] = {
    "sms_added": "them so dien thoai nhan OTP",
    "usb_added": "them USB ky so",
    "sim_added": "them SIM ky so",
    "vneid_added": "lien ket VNeID",
    "method_removed": "xoa phuong thuc xac thuc",
    "password_changed": "doi mat khau",
    "email_changed": "doi email",
    "session_ended": "ket thuc phien dang nhap khac",
}

# ASCII-only Vietnamese (no diacritics) keeps the message in one 160-character GSM segment.
_TEMPLATES: dict[str, str] = {
    INITIAL_PASSWORD: (
        "Tai khoan Cong DVCQG cua ban da duoc tao. Ten dang nhap: {username}, "
        "mat khau: {password}. Hay doi mat khau khi dang nhap lan dau. Khong chia se."
    ),
    SECURITY_CHANGE: (
        "Cong DVCQG: tai khoan vua {change} luc {at}, {device}. Neu khong phai ban, hay "
        "dang nhap va doi mat khau ngay."
    ),
}
# Each parameter's allowed shape: nothing a template inserts can smuggle in other text.
_PARAMETERS: dict[str, dict[str, re.Pattern[str]]] = {
    INITIAL_PASSWORD: {
        "username": re.compile(r"^[A-Z]{2}\d{6,12}$"),
        "password": re.compile(r"^[\x21-\x7e]{8,32}$"),
    },
    SECURITY_CHANGE: {
        "change": re.compile("^(" + "|".join(_CHANGES) + ")$"),
        "at": re.compile(r"^\d{2}:\d{2} \d{2}/\d{2}/\d{4}$"),
        "device": re.compile(r"^[A-Za-z .]{1,40}$"),
    },
}
# The e-mail of a change (subject, body): room for the full Vietnamese text.
_EMAIL_CHANGES: dict[str, str] = {
    "sms_added": "thêm số điện thoại nhận mã OTP",
    "usb_added": "thêm USB ký số",
    "sim_added": "thêm Sim ký số",
    "vneid_added": "liên kết với VNeID",
    "method_removed": "xóa một phương thức xác thực",
    "password_changed": "đổi mật khẩu",
    "email_changed": "đổi địa chỉ email",
    "session_ended": "kết thúc một phiên đăng nhập khác",
}
_EMAIL_TEMPLATES: dict[str, tuple[str, str]] = {
    SECURITY_CHANGE: (
        "Cổng Dịch vụ công Quốc gia: tài khoản của bạn vừa {change}",
        "Tài khoản của bạn trên Cổng Dịch vụ công Quốc gia vừa {change} lúc {at} "
        "(giờ Việt Nam), từ thiết bị: {device}.\n\n"
        "Nếu đó là bạn, bạn không cần làm gì thêm.\n"
        "Nếu không phải bạn, hãy đăng nhập ngay, đổi mật khẩu và kiểm tra mục «Các phương "
        "thức xác thực» và «Quản lý đăng nhập»; nếu không đăng nhập được, hãy dùng chức năng "
        "«Quên mật khẩu» hoặc liên hệ bộ phận hỗ trợ.\n\n"
        "Thư này được gửi tự động, vui lòng không trả lời.",
    ),
}


@dataclass(frozen=True)
class SmsNotice:
    """``send_notice``: a template's SMS to a phone, its parameters checked."""

    phone: str
    purpose: str
    body_kind: str
    params: dict[str, str]

    @classmethod
    def of(cls, request: SendNotice) -> SmsNotice:
        params, bad = _checked_params(request.body_kind, request.params)
        if bad:
            # Only the names of bad parameters: their values may be secrets.
            raise InvalidInput(fields=[{"name": f"params.{name}", "detail": "Giá trị không hợp lệ."}
                                       for name in bad])
        return cls(phone=request.phone, purpose=request.purpose, body_kind=request.body_kind,
                   params=params)

    def body(self) -> str:
        params = dict(self.params)
        if "change" in params:
            params["change"] = _CHANGES[params["change"]]
        return _TEMPLATES[self.body_kind].format(**params)


@dataclass(frozen=True)
class EmailNotice:
    """``send_email_notice``: the same templates' e-mail form, to an address."""

    email: str
    body_kind: str
    params: dict[str, str]

    @classmethod
    def of(cls, request: SendEmailNotice) -> EmailNotice:
        problems: list[dict[str, str]] = []
        if not _EMAIL.match(request.email):
            problems.append({"name": "email", "detail": "Địa chỉ email không hợp lệ."})
        params, bad = _checked_params(request.body_kind, request.params)
        problems.extend({"name": f"params.{name}", "detail": "Giá trị không hợp lệ."}
                        for name in bad)
        if problems:
            raise InvalidInput(fields=problems)
        return cls(email=request.email, body_kind=request.body_kind, params=params)

    def subject_and_body(self) -> tuple[str, str]:
        params = dict(self.params)
        if "change" in params:
            params["change"] = _EMAIL_CHANGES[params["change"]]
        subject, body = _EMAIL_TEMPLATES[self.body_kind]
        return subject.format(**params), body.format(**params)


# One address, no display name, no header line breaks (it becomes the To: header).
_EMAIL = re.compile(r"^[^@\s<>\",;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


def _checked_params(kind: str, raw: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The template's parameters, each of its own shape (other names are ignored)."""
    params: dict[str, str] = {}
    bad: list[str] = []
    for name, shape in _PARAMETERS[kind].items():
        value = raw.get(name)
        if value is not None and shape.match(value):
            params[name] = value
        else:
            bad.append(name)
    return params, bad
