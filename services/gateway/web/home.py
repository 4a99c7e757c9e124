"""Trang chủ: what the portal's account system offers, with Đăng ký and Đăng nhập."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.gateway.web.rendering import render

router = APIRouter(include_in_schema=False)

# Short notices a redirect may ask the next page to show (?tb=<key>): fixed texts, so a link
# cannot make the page say anything else.
NOTICES = {
    "da-dang-xuat": "Bạn đã đăng xuất khỏi tài khoản.",
}


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, tb: str | None = None) -> HTMLResponse:
    return render(request, "home.html", notice=NOTICES.get(tb or ""))
