"""Quản lý tài khoản: Thông tin định danh (from profile's ``me``, as ``GET /api/v1/me``).

The other account pages (Các phương thức xác thực, Quản lý đăng nhập) are listed in the
side menu as coming soon; each slots in as a route here and an entry of ``ACCOUNT_PAGES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.dependencies import SESSION_COOKIE, Rpc
from services.gateway.web.guards import page_problem_of
from services.gateway.web.rendering import redirect, render
from shared.rpc import RemoteError, ServiceUnavailable

router = APIRouter(prefix="/tai-khoan", include_in_schema=False)


@dataclass(frozen=True)
class AccountPage:
    title: str
    path: str | None  # None while the page is being built


ACCOUNT_PAGES = (
    AccountPage("Thông tin định danh", "/tai-khoan"),
    AccountPage("Các phương thức xác thực", None),
    AccountPage("Quản lý đăng nhập", None),
)
SUBJECT_TITLES = {"citizen": "Công dân", "enterprise": "Doanh nghiệp",
                  "agency": "Cơ quan nhà nước"}
SEX_TITLES = {"male": "Nam", "female": "Nữ"}


@router.get("", response_class=HTMLResponse)
async def identity_page(request: Request, rpc: Rpc) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return redirect("/dang-nhap")
    try:
        me: dict[str, Any] = await rpc.call("profile", "me", {"session_token": token})
    except RemoteError as exc:
        if exc.code == "unauthenticated":  # ended or expired: log in again
            return redirect("/dang-nhap")
        raise page_problem_of(exc) from exc
    except ServiceUnavailable as exc:
        raise page_problem_of(exc) from exc
    return render(request, "account_identity.html", me=me, pages=ACCOUNT_PAGES,
                  current="/tai-khoan", subject_title=SUBJECT_TITLES.get(str(me.get("subject_type")), ""),
                  sex_title=SEX_TITLES.get(str(me.get("identity", {}).get("sex")), ""))
