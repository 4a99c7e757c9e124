"""Hoạt động của tài khoản: the account's activity log (``me_activity``, the same call as
``GET /api/v1/me/activity``), newest first, paged by seq ("Trang sau" carries the last row's
seq). Each entry is told in Vietnamese; failed logins come summed per 15-minute window."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.dependencies import Rpc
from services.gateway.web.account import ACCOUNT_PAGES, read_as_owner
from services.gateway.web.account_logins import METHOD_TITLES, _when
from services.gateway.web.rendering import render
from shared.contracts import profile as PROFILE

PAGE = "/tai-khoan/hoat-dong"
PAGE_SIZE = 20
router = APIRouter(prefix=PAGE, include_in_schema=False)

KIND_TITLES = {
    "account_created": "Đăng ký tài khoản",
    "counter_registration": "Đăng ký tài khoản cho công dân tại quầy",
    "login_succeeded": "Đăng nhập thành công",
    "login_failed": "Đăng nhập không thành công",
    "auth_method_added": "Thêm phương thức xác thực",
    "auth_method_removed": "Xóa phương thức xác thực",
    "password_changed": "Đổi mật khẩu",
    "phone_replaced": "Thay số điện thoại nhận mã OTP",
    "session_ended": "Kết thúc phiên đăng nhập",
    "profile_updated": "Cập nhật thông tin liên hệ",
}
METHOD_TYPE_TITLES = {"sms": "Số điện thoại nhận OTP", "usb": "USB ký số", "sim": "SIM ký số",
                      "vneid": "VNeID"}
PASSWORD_REASONS = {"reset": "đặt lại qua Quên mật khẩu", "first_login": "đặt lần đầu",
                    "change": "đổi trong tài khoản"}
SESSION_REASONS = {"logout": "đăng xuất", "ended_by_owner": "kết thúc từ trang Quản lý đăng nhập",
                   "password_reset": "đặt lại mật khẩu", "password_changed": "đổi mật khẩu",
                   "agent_disabled": "tài khoản nhân viên bị tạm dừng"}
FIELD_TITLES = {"email": "email", "address": "địa chỉ liên hệ"}
REGISTRATION_METHODS = METHOD_TITLES | {"mobile": "Thuê bao di động", "bhxh": "Bảo hiểm xã hội",
                                        "usb": "USB ký số", "sim": "SIM ký số",
                                        "post_office": "Bưu điện", "vneid": "VNeID"}


def _login(d: dict[str, Any]) -> str:
    return METHOD_TITLES.get(d.get("method", ""), d.get("method", ""))


def _failed(d: dict[str, Any]) -> str:
    # One entry per burst: the count so far within the 15-minute window it names.
    return (f"{_login(d)}: {d.get('failures', 1)} lần sai trong 15 phút "
            f"từ {_when(d.get('window_start'))}")


def _created(d: dict[str, Any]) -> str:
    told = f"Phương thức: {REGISTRATION_METHODS.get(d.get('method', ''), d.get('method', ''))}"
    return told + (f", tại {d['office']}" if d.get("office") else "")


def _method(d: dict[str, Any]) -> str:
    return METHOD_TYPE_TITLES.get(d.get("type", ""), d.get("type", ""))


def _fields(d: dict[str, Any]) -> str:
    return ", ".join(FIELD_TITLES.get(f, f) for f in d.get("fields") or [])


DESCRIBE: dict[str, Callable[[dict[str, Any]], str]] = {
    "account_created": _created,
    "counter_registration": lambda d: f"Tại {d.get('office', 'quầy')}",
    "login_succeeded": _login,
    "login_failed": _failed,
    "auth_method_added": _method,
    "auth_method_removed": _method,
    "password_changed": lambda d: PASSWORD_REASONS.get(d.get("reason", ""), "").capitalize(),
    "phone_replaced": lambda d: f"Số mới: {d.get('phone_masked', '')}",
    "session_ended": lambda d: SESSION_REASONS.get(d.get("reason", ""), "").capitalize(),
    "profile_updated": _fields,
}


def describe(entry: dict[str, Any]) -> str:
    details = entry.get("details") or {}
    tell = DESCRIBE.get(str(entry.get("kind")))
    return tell(details) if tell else ""


@router.get("", response_class=HTMLResponse)
async def activity_page(request: Request, rpc: Rpc, truoc: str = "") -> Response:
    query: dict[str, Any] = {"limit": PAGE_SIZE}
    if truoc.isdigit() and len(truoc) <= 12 and int(truoc) >= 1:
        query["before"] = int(truoc)
    activity = await read_as_owner(request, rpc, PROFILE.ME_ACTIVITY, **query)
    next_before = activity.next_before
    return render(request, "account_activity.html", pages=ACCOUNT_PAGES, current=PAGE,
                  entries=[entry.wire() for entry in activity.items], kind_titles=KIND_TITLES,
                  describe=describe, when=_when,
                  first_page=PAGE if "before" in query else None,
                  next_page=f"{PAGE}?{urlencode({'truoc': next_before})}" if next_before else None)
