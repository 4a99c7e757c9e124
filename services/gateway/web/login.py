"""Đăng nhập: the tabs of the login page, the OTP step, and Đăng xuất.

The steps call the profile service as the JSON API does, and a completed login sets the very
cookies the API's login sets (``dvcid_session`` HttpOnly + SameSite=Lax, and ``dvcid_csrf``).
A tab whose flow is not built yet shows a notice; give its ``LoginTab`` a template to fill it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.gateway.dependencies import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Client,
    ClientInfo,
    Rpc,
    Settings,
)
from services.gateway.routers.logins import _set_session_cookies
from services.gateway.web.guards import FLOW_GONE_CODES, CheckedForm, LoginFlow, flow_gone
from services.gateway.web.otp_screen import (
    RESENT_NOTICE,
    OtpEnd,
    OtpScreen,
    new_code_sent,
    show_otp,
    show_refusal,
    typed_code,
)
from services.gateway.web.rendering import FormErrors, redirect, render
from services.gateway.web.security import WebFlow, forget_flow, remember_flow
from services.gateway.web.sso_resume import sso_target
from services.gateway.web.vneid import link_target
from shared.contracts import profile as PROFILE
from shared.rpc import RemoteError, ServiceUnavailable

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class LoginTab:
    slug: str
    title: str
    template: str | None  # the tab's panel; None while its flow is being built


LOGIN_TABS = (
    LoginTab("cccd", "CCCD/CMND", "login_password_tab.html"),  # the default tab (seed guide)
    LoginTab("sim", "Sim ký số", "login_sim_tab.html"),  # login_signature.py
    LoginTab("usb", "USB ký số", "login_usb_tab.html"),
    LoginTab("buu-dien", "Bưu điện", "login_post_office_tab.html"),  # counter-made accounts
)
# The tabs whose form is a login name and password (both post to /dang-nhap).
PASSWORD_TABS = {"cccd": "Vui lòng nhập số CCCD/CMND.",
                 "buu-dien": "Vui lòng nhập tên đăng nhập."}
PASSWORD_FIELDS = ("username", "password", "captcha")
CaptchaKind = Literal["image", "audio"]
FIRST_PASSWORD_PAGE = "/dang-nhap/doi-mat-khau"  # login_first_password.py
# The service wants a captcha answered with the password (after failed attempts).
CAPTCHA_CODES = frozenset({"captcha_required", "captcha_invalid"})
# Why the browser was sent here (?tb=<key>): fixed texts, never taken from the link.
LOGIN_NOTICES = {"can-dang-nhap": "Vui lòng đăng nhập để xem trang tài khoản. Phiên đăng nhập "
                                  "trước đã kết thúc hoặc bạn chưa đăng nhập.",
                 # A portal sent the citizen here to sign in with dvcid (services/gateway/oidc.py).
                 "sso": "Vui lòng đăng nhập bằng tài khoản Cổng Dịch vụ công Quốc gia để tiếp "
                        "tục vào cổng dịch vụ công đã chuyển bạn đến đây.",
                 "sso-3": "Cổng dịch vụ công đã chuyển bạn đến đây yêu cầu đăng nhập bằng chữ "
                          "ký số: vui lòng đăng nhập bằng SIM ký số hoặc USB ký số.",
                 # VNeID's identity waits for a link (services/gateway/web/vneid.py).
                 "vneid-lien-ket": "Đăng nhập một lần vào tài khoản của bạn (mật khẩu và mã "
                                   "OTP, hoặc chữ ký số) để liên kết tài khoản với VNeID."}
CAPTCHA_REFRESH = "/dang-nhap/ma-xac-thuc"  # "Đổi mã khác", "Nghe mã bằng âm thanh"
CAPTCHA_UNAVAILABLE = "Chưa tạo được mã xác thực mới. Vui lòng thử lại sau ít phút."
OTP_SCREEN = OtpScreen(heading="Nhập mã OTP", action="/dang-nhap/otp",
                       resend_action="/dang-nhap/otp/gui-lai", back="/dang-nhap",
                       back_text="Quay lại đăng nhập",
                       options="login_otp_options.html",  # login_otp_options.py
                       step="Bước 2/2: Nhập mã OTP",
                       ended=OtpEnd("Đăng nhập không thành công",
                                    "Mã OTP đã bị nhập sai quá 5 lần nên lần đăng nhập này đã "
                                    "dừng lại. Vui lòng đăng nhập lại từ đầu.",
                                    "/dang-nhap", "Đăng nhập lại"))


@router.get("/dang-nhap", response_class=HTMLResponse)
async def login_page(request: Request, tab: str = "cccd", tb: str | None = None) -> HTMLResponse:
    return _login_page(request, tab, notice=LOGIN_NOTICES.get(tb or ""))


@router.post("/dang-nhap", response_class=HTMLResponse)
async def start_password_login(request: Request, form: CheckedForm, client: Client,
                               rpc: Rpc) -> Response:
    tab = str(form.get("tab") or "cccd")
    tab = tab if tab in PASSWORD_TABS else "cccd"
    username = str(form.get("username") or "").strip()
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    missing = {name: message for name, value, message in (
        ("username", username, PASSWORD_TABS[tab]),
        ("password", password, "Vui lòng nhập mật khẩu.")) if not value}
    if missing:
        return _login_page(request, tab, {"username": username}, FormErrors.invalid(missing))
    captcha_id = str(form.get("captcha_id") or "")[:64]
    captcha_answer = str(form.get("captcha") or "").strip()[:64]
    try:
        start = PROFILE.PasswordLoginStart.model_validate(
            {"method": "password", "username": username, "password": password}
            | ({"captcha": {"id": captcha_id, "answer": captcha_answer}}
               if captcha_id and captcha_answer else {}) | client.as_payload())
    except ValidationError as exc:  # longer than a login name or a password may be
        return _login_page(request, tab, {"username": username},
                           FormErrors.of_contract(exc, PASSWORD_FIELDS))
    try:
        started = await rpc.ask(PROFILE.LOGIN_START, start)
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, PASSWORD_FIELDS)
        captcha = None
        if errors.code in CAPTCHA_CODES:
            captcha = await _new_captcha(rpc, client)
            if errors.code == "captcha_invalid" and not errors.fields:
                errors.add("captcha", errors.detail or "")
        if errors.code == "captcha_required" and captcha is not None:
            # Asked before any password is checked, maybe on a first try: nothing went wrong,
            # so a notice says why (neutral words), not an error summary.
            return _login_page(request, tab, {"username": username}, None, captcha,
                               notice=errors.detail)
        return _login_page(request, tab, {"username": username}, errors, captcha)
    if started.status == "password_change_required":
        # A post-office (or operator-made) account's one-time password: a new one first.
        response = redirect(FIRST_PASSWORD_PAGE)
        remember_flow(request, response, WebFlow("login", started.id, started.flow_token))
        return response
    flow = WebFlow("login", started.id, started.flow_token,
                   phone_masked=started.phone_masked,
                   resend_available_at=started.resend_available_at,
                   alternatives=_alternatives(started.alternatives))
    response = redirect("/dang-nhap/otp")
    remember_flow(request, response, flow)
    return response


@router.post(CAPTCHA_REFRESH, response_class=HTMLResponse)
async def another_captcha(request: Request, form: CheckedForm, client: Client,
                          rpc: Rpc) -> Response:
    """"Đổi mã khác" / "Nghe mã bằng âm thanh": the login form again with a new captcha (an
    audio one on request); the name typed stays, nothing is counted as an attempt."""
    tab = str(form.get("tab") or "cccd")
    tab = tab if tab in PASSWORD_TABS else "cccd"
    username = str(form.get("username") or "").strip()[:64]
    kind: CaptchaKind = "audio" if form.get("kind") == "audio" else "image"
    captcha = await _new_captcha(rpc, client, kind)
    return _login_page(request, tab, {"username": username}, None, captcha,
                       notice=None if captcha else CAPTCHA_UNAVAILABLE)


@router.get("/dang-nhap/otp", response_class=HTMLResponse)
async def login_otp_page(request: Request, flow: LoginFlow) -> Response:
    return show_otp(request, OTP_SCREEN, flow)


@router.post("/dang-nhap/otp", response_class=HTMLResponse)
async def submit_login_otp(request: Request, form: CheckedForm, flow: LoginFlow, client: Client,
                           rpc: Rpc, settings: Settings) -> Response:
    code, problem = typed_code(request, form)
    if problem is not None:  # told at once, no attempt spent
        return show_otp(request, OTP_SCREEN, flow, errors=problem)
    try:
        done = await rpc.ask(PROFILE.LOGIN_SUBMIT_OTP, PROFILE.LoginOtp(
            id=flow.id, flow_token=flow.token, code=code[:16], **client.as_payload()))
    except (RemoteError, ServiceUnavailable) as exc:
        return _refused(request, exc, flow)
    # To the VNeID link this login was made for, else back to a portal (SSO).
    response = redirect(link_target(request) or sso_target(request) or "/tai-khoan")
    _set_session_cookies(response, done.session_token, settings.secure_cookies)
    forget_flow(request, response, "login")
    return response


@router.post("/dang-nhap/otp/gui-lai", response_class=HTMLResponse)
async def resend_login_otp(request: Request, form: CheckedForm, flow: LoginFlow,
                           client: Client, rpc: Rpc) -> Response:
    try:
        resent = await rpc.ask(PROFILE.LOGIN_RESEND_OTP, PROFILE.LoginStep(
            id=flow.id, flow_token=flow.token, **client.as_payload()))
    except (RemoteError, ServiceUnavailable) as exc:
        return _refused(request, exc, flow)
    flow = new_code_sent(request, flow, resent.resend_available_at)
    response = show_otp(request, OTP_SCREEN, flow, notice=RESENT_NOTICE)
    remember_flow(request, response, flow)
    return response


@router.post("/dang-xuat", response_class=HTMLResponse)
async def logout(request: Request, form: CheckedForm, rpc: Rpc, settings: Settings) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            await rpc.ask(PROFILE.LOGOUT, PROFILE.SessionRef(session_token=token))
        except RemoteError as exc:
            if exc.code != "unauthenticated":  # already ended: logging out again is done
                raise
    response = redirect("/?tb=da-dang-xuat")
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=settings.secure_cookies,
                               httponly=name == SESSION_COOKIE, samesite="lax")
    return response


def _login_page(request: Request, slug: str, values: dict[str, str] | None = None,
                errors: FormErrors | None = None,
                captcha: dict[str, Any] | None = None, notice: str | None = None) -> HTMLResponse:
    tab = next((t for t in LOGIN_TABS if t.slug == slug), LOGIN_TABS[0])
    return render(request, "login.html", tabs=LOGIN_TABS, tab=tab, values=values or {},
                  errors=errors, captcha=captcha, notice=notice,
                  vneid_on=request.app.state.settings.vneid_issuer is not None)


async def _new_captcha(rpc: Rpc, client: ClientInfo,
                       kind: CaptchaKind = "image") -> dict[str, Any] | None:
    """A fresh captcha (Mã xác thực) for the form, as ``POST /api/v1/captchas`` gives (with a
    recording when ``kind`` is "audio"); None when none can be had (the page then shows the
    refusal alone)."""
    try:
        captcha = await rpc.ask(PROFILE.CAPTCHA_NEW,
                                PROFILE.NewCaptcha(kind=kind, **client.as_payload()))
    except (RemoteError, ServiceUnavailable):
        return None
    if not captcha.captcha_id or not captcha.image.startswith("data:image/"):
        return None
    shown = captcha.wire()
    if not (captcha.audio or "").startswith("data:audio/wav;base64,"):
        shown.pop("audio", None)  # only a recording the page can play, never other data
    return shown


def _alternatives(listed: list[PROFILE.PhoneAlternative] | None) -> tuple[dict[str, str], ...]:
    """The other OTP phones of the account the login start listed, as the pages keep them."""
    return tuple({"phone_id": item.phone_id, "phone_masked": item.phone_masked}
                 for item in listed or () if item.phone_id and item.phone_masked)


def _refused(request: Request, exc: RemoteError | ServiceUnavailable, flow: WebFlow) -> Response:
    errors = FormErrors.of(exc, ("code",))
    if errors.code in FLOW_GONE_CODES:
        raise flow_gone("login") from exc
    return show_refusal(request, OTP_SCREEN, flow, errors)
