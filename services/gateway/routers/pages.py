"""The portal's home page. The full server-rendered pages arrive with the web-pages issue;
until then the home page says what the portal offers and where the API is."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["pages"], include_in_schema=False)

HOME = """<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tài khoản Cổng Dịch vụ công Quốc gia</title>
<style>body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;
line-height:1.5}h1{color:#b40000;font-size:1.5rem}code{background:#f3f3f3;padding:0 .2rem}</style>
</head>
<body>
<h1>Tài khoản Cổng Dịch vụ công Quốc gia</h1>
<p>Đăng ký, đăng nhập và quản lý tài khoản cho công dân, doanh nghiệp và cơ quan nhà nước.</p>
<ul>
<li>Đăng ký bằng thuê bao di động: <code>POST /api/v1/registrations</code></li>
<li>Đăng nhập bằng số CMT/CCCD, mật khẩu và OTP: <code>POST /api/v1/logins</code></li>
<li>Thông tin tài khoản: <code>GET /api/v1/me</code></li>
</ul>
<p><a href="/docs">Tài liệu API (OpenAPI)</a> · <a href="/readyz">Trạng thái hệ thống</a></p>
</body>
</html>
"""


@router.get("/", response_class=HTMLResponse)
async def home() -> HTMLResponse:
    return HTMLResponse(HOME)
