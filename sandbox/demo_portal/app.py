"""The demo client portal as one FastAPI app: Authlib's Starlette client against the configured
OpenID Provider; Starlette's signed-cookie session holds the login dance and a random id, the
login itself stays server-side (``sessions.py``), so a back-channel logout can end it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from joserfc.errors import JoseError
from starlette.middleware.sessions import SessionMiddleware

from sandbox.demo_portal.config import DemoPortalSettings
from sandbox.demo_portal.sessions import (
    InvalidLogoutToken,
    Login,
    Logins,
    SeenJtis,
    verify_logout_token,
)
from shared.logging import get_logger

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
    "sid": "Phiên đăng nhập tại nhà cung cấp (sid)",
    "phone_number_verified": "Số điện thoại đã xác minh",
    "vn_subject_type": "Loại chủ thể",
    "vn_id_type": "Loại giấy tờ",
    "vn_id_number": "Số giấy tờ định danh",
}
LOGIN_KEY = "login"
log = get_logger("demo-portal")


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
                   client_secret=settings.secret(),
                   server_metadata_url=settings.metadata_url(),
                   client_kwargs={"scope": settings.scope, "code_challenge_method": "S256",
                                  "token_endpoint_auth_method": "client_secret_basic"})
    provider: StarletteOAuth2App = oauth.create_client("provider")
    logins = Logins()
    seen_jtis = SeenJtis()
    app.state.settings = settings
    app.state.logins = logins

    def current(request: Request) -> Login | None:
        return logins.get(request.session.get(LOGIN_KEY))

    def page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, "portal.html", {
            "portal_name": settings.name, "issuer": settings.issuer, "labels": CLAIM_LABELS,
            "step_up_acr": settings.step_up_acr, "login_label": settings.login_label,
            **context}, status_code=status)

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> HTMLResponse:
        return page(request, login=current(request))

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
        logins.remove(request.session.get(LOGIN_KEY))  # a new login (a step-up) replaces it
        request.session[LOGIN_KEY] = logins.add(Login(claims=claims, userinfo=userinfo,
                                                      id_token=token.get("id_token")))
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        login = logins.remove(request.session.pop(LOGIN_KEY, None))
        metadata = await provider.load_server_metadata()
        if login and metadata.get("end_session_endpoint"):
            redirect: Response = await provider.logout_redirect(
                request, post_logout_redirect_uri=f"{settings.public_url()}/",
                id_token_hint=login.id_token)
            return redirect
        return RedirectResponse("/", status_code=303)

    @app.post("/backchannel-logout")
    async def backchannel_logout(logout_token: str = Form(...)) -> Response:
        """OpenID Connect Back-Channel Logout 1.0: the provider says a session ended."""
        headers = {"Cache-Control": "no-store"}
        metadata = await provider.load_server_metadata()
        issuer = str(metadata.get("issuer", settings.issuer))
        try:
            # The keys already fetched; once more from the provider when they do not verify
            # it (a rotated key). The jti is spent only by a token that passes every check.
            for force in (False, True):
                try:
                    jwks = await provider.fetch_jwk_set(force=force)
                except httpx.HTTPError:
                    return JSONResponse({"error": "temporarily_unavailable"}, 503,
                                        headers=headers)
                try:
                    claims = verify_logout_token(logout_token, dict(jwks), issuer=issuer,
                                                 client_id=settings.client_id, seen=seen_jtis)
                    break
                except InvalidLogoutToken as error:
                    if force or not error.reason.startswith("signature"):
                        raise
        except InvalidLogoutToken as error:
            log.info("logout token refused", reason=error.reason)
            return JSONResponse({"error": "invalid_request",
                                 "error_description": error.reason}, 400, headers=headers)
        ended = logins.end(sid=claims.get("sid"), sub=claims.get("sub"))
        log.info("back-channel logout", ended=ended)
        return Response(status_code=200, headers=headers)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
