"""Đăng nhập bằng VNeID (issue 15): the gateway as VNeID's relying party (OpenID Connect,
authorization code flow with PKCE S256, state and nonce), with Authlib's Starlette client.

``GET /vneid/login`` sends the browser to VNeID; ``GET /vneid/callback`` exchanges the code and
has Authlib verify the ID token (signature against VNeID's JWKS, issuer, audience, expiry,
nonce). Only that token's claims go on to profile (``vneid_login``): never the query's, never
userinfo's. Profile answers:

- ``completed``: the identity is linked; the session cookies, as any login sets them;
- ``link_required``: an account of this CCCD exists; ``/vneid/lien-ket`` says so, its owner
  logs in once by a method the account has, then confirms the link (``vneid_link``);
- ``no_account``: ``/vneid/dang-ky`` offers an account at level 2 (registration's method
  ``vneid``), made from the verified claims.

Where the login's state, nonce and PKCE verifier live between the two requests: in a signed
(``DVCID_WEB_SECRET``, itsdangerous), HttpOnly, SameSite=Lax cookie limited to ``/vneid`` and to
``DVCID_VNEID_LOGIN_SECONDS``. No server-side memory: any gateway instance finishes a login
another began, and the state is bound to the browser that began it (a callback from another
browser, or with a forged state, finds no state: ``mismatching_state``). The verified claims
waiting for a link or a registration ride the same way (cookie ``dvcid_web_vneid_claims``):
only this gateway could have signed them, after verifying the ID token.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc.errors import JoseError

from services.gateway.config import GatewaySettings
from services.gateway.dependencies import SESSION_COOKIE, Client, Rpc, Settings
from services.gateway.routers.logins import _set_session_cookies
from services.gateway.web.guards import CheckedForm, PageProblem
from services.gateway.web.rendering import FormErrors, redirect, render
from services.gateway.web.sso_resume import sso_target
from shared.contracts import profile as PROFILE
from shared.contracts import registration as REG
from shared.logging import get_logger
from shared.rpc import RemoteError, ServiceUnavailable

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)

LOGIN = "/vneid/login"
CALLBACK = "/vneid/callback"
LINK_PAGE = "/vneid/lien-ket"
SIGN_UP_PAGE = "/vneid/dang-ky"
ACCOUNT = "/tai-khoan"
STATE_COOKIE = "dvcid_web_vneid"  # Authlib's state data (state, nonce, PKCE verifier)
CLAIMS_COOKIE = "dvcid_web_vneid_claims"  # verified claims waiting for a link / registration
SCOPE = "openid profile cccd"
# VNeID level 2 (chip card + PIN): the level of a dvcid session opened through it.
ACCEPTED_ACR = frozenset({"urn:vneid:loa:level2"})
CANCELLED = "access_denied"


# --- the two cookies ---------------------------------------------------------------------

def _serializer(settings: GatewaySettings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.web_secret, salt=f"dvcid-vneid-{purpose}")


def _read(request: Request, cookie: str, purpose: str) -> dict[str, Any] | None:
    settings: GatewaySettings = request.app.state.settings
    value = request.cookies.get(cookie)
    if not value:
        return None
    try:
        data = _serializer(settings, purpose).loads(value, max_age=settings.vneid_login_seconds)
    except BadSignature:  # forged, altered or expired (SignatureExpired is one)
        return None
    return data if isinstance(data, dict) else None


def _write(request: Request, response: Response, cookie: str, purpose: str, path: str,
           data: dict[str, Any]) -> None:
    settings: GatewaySettings = request.app.state.settings
    response.set_cookie(cookie, _serializer(settings, purpose).dumps(data),
                        max_age=settings.vneid_login_seconds, path=path, httponly=True,
                        samesite="lax", secure=settings.secure_cookies)


def _forget(request: Request, response: Response, cookie: str, path: str) -> None:
    if request.cookies.get(cookie):
        response.delete_cookie(cookie, path=path, httponly=True, samesite="lax",
                               secure=request.app.state.settings.secure_cookies)


def pending_claims(request: Request) -> PROFILE.VneidClaims | None:
    """The verified VNeID claims this browser holds, waiting for a link or a registration."""
    data = _read(request, CLAIMS_COOKIE, "claims")
    if data is None:
        return None
    try:
        return PROFILE.VneidClaims.model_validate(data)
    except ValueError:
        return None


def link_target(request: Request) -> str | None:
    """Where a completed login goes when it was made to link VNeID: the link page, before a
    portal's kept authorization request (``sso_target``), which the link page goes on to."""
    return LINK_PAGE if pending_claims(request) is not None else None


# --- Authlib's client --------------------------------------------------------------------

def _client(request: Request) -> StarletteOAuth2App:
    """The VNeID client of this app, made once (Authlib loads VNeID's discovery document and
    JWKS on first use and keeps them)."""
    client: StarletteOAuth2App | None = getattr(request.app.state, "vneid_client", None)
    if client is not None:
        return client
    settings: GatewaySettings = request.app.state.settings
    if settings.vneid_issuer is None:
        raise PageProblem(404, "Không tìm thấy trang", "Cổng chưa hỗ trợ đăng nhập bằng VNeID.")
    oauth = OAuth()
    issuer = settings.vneid_issuer.rstrip("/")
    oauth.register("vneid", client_id=settings.vneid_client_id,
                   client_secret=settings.vneid_client_secret,
                   server_metadata_url=f"{issuer}/.well-known/openid-configuration",
                   client_kwargs={"scope": SCOPE, "code_challenge_method": "S256",
                                  "token_endpoint_auth_method": "client_secret_basic",
                                  "timeout": 10.0})
    made = oauth.create_client("vneid")
    assert isinstance(made, StarletteOAuth2App)
    request.app.state.vneid_client = made
    return made


@router.get(LOGIN)
async def vneid_login(request: Request, settings: Settings) -> Response:
    client = _client(request)
    request.scope["session"] = {}  # Authlib writes the state data here; the cookie keeps it
    try:
        response: Response = await client.authorize_redirect(request,
                                                             settings.vneid_redirect_uri)
    except httpx.HTTPError as exc:  # discovery unreachable
        raise _unavailable() from exc
    _write(request, response, STATE_COOKIE, "state", "/vneid", request.scope["session"])
    return response


@router.get(CALLBACK)
async def vneid_callback(request: Request, rpc: Rpc, client_info: Client,
                         settings: Settings) -> Response:
    client = _client(request)
    request.scope["session"] = _read(request, STATE_COOKIE, "state") or {}
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        log.info("vneid login refused", error=exc.error)
        raise _refused(exc.error) from exc
    except JoseError as exc:  # the ID token: signature, issuer, audience, expiry, nonce
        log.warning("vneid id token refused", error=exc.error)
        raise _refused("invalid_id_token") from exc
    except httpx.HTTPError as exc:
        raise _unavailable() from exc
    claims = _claims(token.get("userinfo"))
    try:
        answer = await rpc.ask(PROFILE.VNEID_LOGIN,
                               PROFILE.VneidLogin(claims=claims, **client_info.as_payload()))
    except (RemoteError, ServiceUnavailable) as exc:
        raise _profile_refused(exc) from exc
    if answer.status == "completed":
        assert answer.session_token is not None
        response: Response = redirect(sso_target(request) or ACCOUNT)
        _set_session_cookies(response, answer.session_token, settings.secure_cookies)
    else:
        response = redirect(LINK_PAGE if answer.status == "link_required" else SIGN_UP_PAGE)
        _write(request, response, CLAIMS_COOKIE, "claims", "/", claims.model_dump())
    _forget(request, response, STATE_COOKIE, "/vneid")
    return response


def _claims(verified: Any) -> PROFILE.VneidClaims:
    """The claims of the verified ID token (Authlib's ``userinfo`` of the token response is
    the parsed ID token when a nonce was sent); a token without them logs nobody in."""
    if not isinstance(verified, dict) or verified.get("acr") not in ACCEPTED_ACR:
        raise _refused("invalid_id_token")
    try:
        return PROFILE.VneidClaims(sub=verified["sub"], cccd=verified["cccd"],
                                   full_name=verified["name"],
                                   birth_date=verified.get("birthdate"),
                                   sex=_sex(verified.get("gender")))
    except (KeyError, ValueError) as exc:
        raise _refused("invalid_id_token") from exc


# --- no account of this CCCD ------------------------------------------------------------

@router.get(SIGN_UP_PAGE, response_class=HTMLResponse)
async def no_account_page(request: Request) -> Response:
    claims = pending_claims(request)
    if claims is None:
        raise _expired()
    return _sign_up_page(request, claims)


@router.post(SIGN_UP_PAGE, response_class=HTMLResponse)
async def sign_up(request: Request, form: CheckedForm, rpc: Rpc, client_info: Client,
                  settings: Settings) -> Response:
    """"Tạo tài khoản": registration's method ``vneid`` (level 2) from the verified claims,
    confirmed at once with the e-mail typed (optional), then the VNeID login it links."""
    claims = pending_claims(request)
    if claims is None:
        raise _expired()
    email = str(form.get("email") or "").strip()[:254] or None  # registration checks it
    if claims.birth_date is None or claims.sex is None:
        raise _refused("invalid_id_token")  # VNeID's profile scope always gives both
    try:
        started = await rpc.ask(REG.START, REG.VneidStart(
            method="vneid", subject_type="citizen", vneid_sub=claims.sub,
            id_number=claims.cccd, full_name=claims.full_name, birth_date=claims.birth_date,
            sex=claims.sex))
        done = await rpc.ask(REG.CONFIRM, REG.ConfirmIdentity(
            id=started.id, flow_token=started.flow_token, email=email))
    except RemoteError as exc:
        if exc.code == "validation_error":  # the e-mail typed
            return _sign_up_page(request, claims, FormErrors.of(exc, ("email",)), email or "")
        raise _registration_refused(exc) from exc
    except ServiceUnavailable as exc:
        raise _registration_refused(exc) from exc
    log.info("vneid registration completed", account_id=done.account_id, status=done.status)
    try:
        answer = await rpc.ask(PROFILE.VNEID_LOGIN,
                               PROFILE.VneidLogin(claims=claims, **client_info.as_payload()))
    except (RemoteError, ServiceUnavailable) as exc:
        raise _profile_refused(exc) from exc
    if answer.status != "completed" or answer.session_token is None:
        # The account is being made (registration answered creating_account): VNeID again
        # in a moment logs in.
        response: Response = render(request, "vneid_creating.html", status=202)
    else:
        response = redirect(sso_target(request) or f"{ACCOUNT}?tb=da-tao-vneid")
        _set_session_cookies(response, answer.session_token, settings.secure_cookies)
    _forget(request, response, CLAIMS_COOKIE, "/")
    return response


def _sign_up_page(request: Request, claims: PROFILE.VneidClaims,
                  errors: FormErrors | None = None, email: str = "") -> HTMLResponse:
    return render(request, "vneid_no_account.html", status=422 if errors else 200,
                  claims=claims, masked=_mask(claims.cccd), errors=errors,
                  values={"email": email})


def _registration_refused(exc: RemoteError | ServiceUnavailable) -> PageProblem:
    if isinstance(exc, RemoteError) and exc.code == "account_exists":
        return PageProblem(409, "Số định danh đã có tài khoản",
                           "Số định danh này vừa có tài khoản trên Cổng. Vui lòng đăng nhập "
                           "lại bằng VNeID để liên kết.", link=LOGIN,
                           link_text="Đăng nhập bằng VNeID")
    return PageProblem(503, "Hệ thống đang bận",
                       "Chưa tạo được tài khoản. Vui lòng thử lại sau ít phút.",
                       link=LOGIN, link_text="Đăng nhập bằng VNeID")


# --- linking an existing account ---------------------------------------------------------

@router.get(LINK_PAGE, response_class=HTMLResponse)
async def link_page(request: Request) -> Response:
    claims = pending_claims(request)
    if claims is None:
        raise _expired()
    return render(request, "vneid_link.html", claims=claims, masked=_mask(claims.cccd),
                  logged_in=bool(request.cookies.get(SESSION_COOKIE)))


@router.post(LINK_PAGE, response_class=HTMLResponse)
async def confirm_link(request: Request, form: CheckedForm, rpc: Rpc,
                       client_info: Client) -> Response:
    claims = pending_claims(request)
    if claims is None:
        raise _expired()
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return redirect("/dang-nhap?tb=vneid-lien-ket")
    try:
        await rpc.ask(PROFILE.VNEID_LINK, PROFILE.VneidLink(
            claims=claims, session_token=token, **client_info.as_payload()))
    except (RemoteError, ServiceUnavailable) as exc:
        if isinstance(exc, RemoteError) and exc.code == "unauthenticated":
            return redirect("/dang-nhap?tb=vneid-lien-ket")
        raise _profile_refused(exc) from exc
    # Back to a portal's authorization request (SSO) if one is kept, else the methods page.
    response = redirect(sso_target(request) or f"{ACCOUNT}/phuong-thuc-xac-thuc?tb=da-lien-ket-vneid")
    _forget(request, response, CLAIMS_COOKIE, "/")
    return response


@router.post(f"{LINK_PAGE}/huy", response_class=HTMLResponse)
async def cancel(request: Request, form: CheckedForm) -> Response:
    """"Hủy": the verified claims are forgotten; nothing was linked or made."""
    response = redirect("/dang-nhap")
    _forget(request, response, CLAIMS_COOKIE, "/")
    return response


# --- the pages' words --------------------------------------------------------------------

REFUSALS = {
    CANCELLED: ("Bạn đã hủy đăng nhập bằng VNeID",
                "Bạn đã dừng đăng nhập tại ứng dụng VNeID. Bạn có thể đăng nhập lại bằng VNeID "
                "hoặc bằng phương thức khác."),
    "mismatching_state": ("Phiên đăng nhập VNeID không hợp lệ",
                          "Phiên đăng nhập bằng VNeID này không do trình duyệt của bạn bắt đầu "
                          "hoặc đã hết hạn. Vui lòng đăng nhập lại từ đầu."),
}
DEFAULT_REFUSAL = ("Không đăng nhập được bằng VNeID",
                   "VNeID không xác nhận được lần đăng nhập này. Vui lòng đăng nhập lại từ đầu.")


def _refused(error: str | None) -> PageProblem:
    title, message = REFUSALS.get(error or "", DEFAULT_REFUSAL)
    return PageProblem(400, title, message, link="/dang-nhap", link_text="Quay lại đăng nhập")


def _unavailable() -> PageProblem:
    return PageProblem(502, "VNeID đang không phản hồi",
                       "Chưa kết nối được với VNeID. Vui lòng thử lại sau ít phút hoặc đăng "
                       "nhập bằng phương thức khác.", link="/dang-nhap",
                       link_text="Quay lại đăng nhập")


def _expired() -> PageProblem:
    return PageProblem(404, "Phiên đăng nhập VNeID đã kết thúc",
                       "Thông tin từ VNeID không còn hiệu lực (đã hết hạn hoặc đã dùng). Vui "
                       "lòng đăng nhập lại bằng VNeID.", link=LOGIN,
                       link_text="Đăng nhập bằng VNeID")


def _profile_refused(exc: RemoteError | ServiceUnavailable) -> PageProblem:
    if isinstance(exc, RemoteError) and exc.code == "forbidden":
        return PageProblem(403, "Không liên kết được tài khoản với VNeID",
                           _detail(exc) or "Danh tính VNeID này không liên kết được với tài "
                           "khoản này.", link="/dang-nhap", link_text="Quay lại đăng nhập")
    if isinstance(exc, RemoteError) and exc.code == "account_disabled":
        return PageProblem(403, "Tài khoản đã bị khóa", _detail(exc),
                           link="/", link_text="Về trang chủ")
    return PageProblem(503, "Hệ thống đang bận",
                       "Chưa hoàn tất được đăng nhập bằng VNeID. Vui lòng thử lại sau ít phút.",
                       link="/dang-nhap", link_text="Quay lại đăng nhập")


def _sex(gender: Any) -> Literal["male", "female"] | None:
    if gender == "male":
        return "male"
    return "female" if gender == "female" else None


def _detail(exc: RemoteError) -> str:
    return str(exc.error.get("detail") or "")


def _mask(cccd: str) -> str:
    return f"{cccd[:3]}******{cccd[-3:]}"
