"""Quản lý đăng nhập: the login history (``GET /api/v1/me/logins``, newest first, paged by
time: "Trang sau" carries the last row's time) and the live sessions (``GET /me/sessions``,
the current one marked), each other session with "Kết thúc" (``DELETE /me/sessions/{id}``).
The device of each row is in words ("Chrome trên Windows") as profile names it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.dependencies import Rpc
from services.gateway.web.account import ACCOUNT_PAGES, NOTICES, ask_as_owner, read_as_owner
from services.gateway.web.guards import CheckedForm, step_up_redirect
from services.gateway.web.rendering import FormErrors, redirect, render
from shared.contracts import profile as PROFILE
from shared.rpc import RemoteError, ServiceUnavailable

PAGE = "/tai-khoan/dang-nhap"
PAGE_SIZE = 10
VIETNAM = timezone(timedelta(hours=7))
router = APIRouter(prefix=PAGE, include_in_schema=False)
METHOD_TITLES = {"password": "Mật khẩu + OTP", "usb": "USB ký số", "sim": "SIM ký số",
                 "post_office": "Bưu điện", "vneid": "VNeID"}
RESULT_TITLES = {"success": "Thành công", "succeeded": "Thành công", "failure": "Không thành công",
                 "failed": "Không thành công"}


@router.get("", response_class=HTMLResponse)
async def logins_page(request: Request, rpc: Rpc, truoc: str = "", tb: str = "") -> Response:
    return await _page(request, rpc, before=truoc, notice=NOTICES.get(tb))


@router.post("/ket-thuc", response_class=HTMLResponse)
async def end_session(request: Request, form: CheckedForm, rpc: Rpc) -> Response:
    session_id = str(form.get("session_id") or "")[:64]
    try:
        await ask_as_owner(request, rpc, PROFILE.ME_END_SESSION, session_id=session_id)
    except (RemoteError, ServiceUnavailable) as exc:
        return step_up_redirect(exc, PAGE) or await _page(request, rpc,
                                                          errors=FormErrors.of(exc, ()))
    return redirect(f"{PAGE}?tb=da-ket-thuc")


async def _page(request: Request, rpc: Rpc, *, before: str = "", notice: str | None = None,
                errors: FormErrors | None = None) -> Response:
    query: dict[str, Any] = {"limit": PAGE_SIZE}
    if before and _is_time(before):
        query["before"] = before
    logins = await read_as_owner(request, rpc, PROFILE.ME_LOGINS, **query)
    sessions = await read_as_owner(request, rpc, PROFILE.ME_SESSIONS)
    next_before = logins.next_before
    return render(request, "account_logins.html", pages=ACCOUNT_PAGES, current=PAGE,
                  logins=[entry.wire() for entry in logins.items],
                  sessions=[entry.wire() for entry in sessions.items],
                  method_titles=METHOD_TITLES, result_titles=RESULT_TITLES,
                  first_page=PAGE if "before" in query else None,
                  next_page=f"{PAGE}?{urlencode({'truoc': next_before})}" if next_before else None,
                  when=_when, notice=notice, errors=errors)


def _is_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return len(text) <= 40


def _when(moment: Any) -> str:
    """An RFC 3339 time as Vietnamese readers write it (UTC+7): ``HH:MM DD/MM/YYYY``."""
    try:
        at = datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
    except ValueError:
        return str(moment or "")
    local = at.astimezone(VIETNAM)
    return local.strftime("%H:%M:%S %d/%m/%Y")
