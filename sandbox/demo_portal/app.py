"""The demo client portal as one FastAPI app: Authlib's Starlette client against the configured
OpenID Provider, Starlette's signed-cookie session for who is logged in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from joserfc.errors import JoseError
from starlette.middleware.sessions import SessionMiddleware

from sandbox.demo_portal.config import DemoPortalSettings

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent)
# What the page calls the claims it knows; the others are shown by their names.
CLAIM_LABELS = {
    "sub": "Định danh tại nhà cung cấp (sub)",
    "name": "Họ và tên",
    "birthdate": "Ngày sinh",
    "gender": "Giới tính",
    "cccd": "Số định danh cá nhân (CCCD)",
    "phone_number": "Số điện thoại",
    "email": "Thư điện tử",
    "acr": "Mức độ xác thực (acr)",
    "amr": "Phương thức xác thực (amr)",
    "iss": "Nhà cung cấp định danh (iss)",
    "auth_time": "Thời điểm xác thực",
}
LOGIN_KEY = "login"


class MemoryCache:
    """Authlib's state cache (the login's state, nonce and PKCE verifier) kept in this process,
    so the browser's cookie carries none of them."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, str]] = {}

    async def get(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        return item[1]

    async def set(self, key: str, value: str, expires_in: float | None = None) -> None:
        self._items[key] = (time.monotonic() + (expires_in or 3600), value)

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)


def create_app(settings: DemoPortalSettings | None = None) -> FastAPI:
    settings = settings or DemoPortalSettings()
    app = FastAPI(title=settings.name, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SessionMiddleware, secret_key=settings.session_secret,
                       session_cookie="demo_portal_session", same_site="lax",
                       https_only=settings.public_url().startswith("https://"))
    oauth = OAuth(cache=MemoryCache())
    oauth.register("provider", client_id=settings.client_id,
                   client_secret=settings.client_secret,
                   server_metadata_url=settings.metadata_url(),
                   client_kwargs={"scope": settings.scope, "code_challenge_method": "S256",
                                  "token_endpoint_auth_method": "client_secret_basic"})
    provider: StarletteOAuth2App = oauth.create_client("provider")
    app.state.settings = settings

    def page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, "portal.html", {
            "portal_name": settings.name, "issuer": settings.issuer, "labels": CLAIM_LABELS,
            "step_up_acr": settings.step_up_acr,
            **context}, status_code=status)

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> HTMLResponse:
        return page(request, login=request.session.get(LOGIN_KEY))

    @app.get("/login")
    async def login(request: Request, acr_values: str | None = None) -> Response:
        extra = {"acr_values": acr_values} if acr_values else {}
        redirect: Response = await provider.authorize_redirect(
            request, f"{settings.public_url()}/callback", **extra)
        return redirect

    @app.get("/callback", response_class=HTMLResponse, response_model=None)
    async def callback(request: Request) -> Response:
        try:
            token = await provider.authorize_access_token(request)
            userinfo = dict(await provider.userinfo(token=token))
        except OAuthError as error:
            return page(request, status=400, error=f"{error.error}: {error.description or ''}")
        except JoseError as error:  # the ID token: signature, issuer, audience, expiry, nonce
            return page(request, status=400, error=f"invalid_id_token: {error.error}")
        except httpx.HTTPError as error:  # the provider unreachable or answering an error
            return page(request, status=502, error=f"provider_error: {type(error).__name__}")
        claims = dict(token.get("userinfo") or {})
        request.session[LOGIN_KEY] = {"claims": claims, "userinfo": userinfo,
                                      "id_token": token.get("id_token")}
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        login = request.session.pop(LOGIN_KEY, None)
        metadata = await provider.load_server_metadata()
        if login and metadata.get("end_session_endpoint"):
            redirect: Response = await provider.logout_redirect(
                request, post_logout_redirect_uri=f"{settings.public_url()}/",
                id_token_hint=login.get("id_token"))
            return redirect
        return RedirectResponse("/", status_code=303)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
