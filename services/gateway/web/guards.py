"""What a page handler needs before it acts: a posted form whose CSRF token is right, the
flow it continues, and the answer when either is missing (an HTML page, not a problem JSON)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from services.gateway.problems import DEFAULT_DETAIL, status_of
from services.gateway.web.rendering import redirect, render
from services.gateway.web.security import CSRF_FIELD, FlowKind, WebFlow, csrf_ok, forget_flow, read_flow
from shared.rpc import RemoteError, ServiceUnavailable

# Where each flow starts again when it is gone.
FLOW_START: dict[FlowKind, str] = {"registration": "/dang-ky", "login": "/dang-nhap",
                                   "reset": "/quen-mat-khau",
                                   "method": "/tai-khoan/phuong-thuc-xac-thuc",
                                   "reauth": "/tai-khoan/xac-thuc-lai"}
# What each flow is called in the page that says it is gone, and its link to start again.
FLOW_NAMES: dict[FlowKind, tuple[str, str]] = {
    "registration": ("đăng ký", "Đăng ký lại"),
    "login": ("đăng nhập", "Đăng nhập lại"),
    "reset": ("lấy lại mật khẩu", "Lấy lại mật khẩu từ đầu"),
    "method": ("thêm phương thức xác thực", "Về trang phương thức xác thực"),
    "reauth": ("xác thực lại", "Xác thực lại từ đầu"),
    "counter": ("đăng ký tại quầy", "Đăng ký lại cho công dân"),
}
# Service answers meaning "this flow no longer exists for you".
FLOW_GONE_CODES = frozenset({"not_found", "flow_expired"})
# Service answers meaning "step up first" (a sensitive change of the account pages), and the
# page that does it ("Xác thực lại", account_reauth.py).
STEP_UP_CODES = frozenset({"reauthentication_required", "insufficient_assurance"})
STEP_UP_PAGE = "/tai-khoan/xac-thuc-lai"


def step_up_redirect(exc: RemoteError | ServiceUnavailable, back: str) -> Response | None:
    """To "Xác thực lại" and back to ``back`` when the change needs a step-up first."""
    code = exc.code if isinstance(exc, RemoteError) else None
    if code not in STEP_UP_CODES:
        return None
    level = "&muc=3" if code == "insufficient_assurance" else ""
    return redirect(f"{STEP_UP_PAGE}?tiep={quote(back, safe='/')}{level}")


class PageProblem(Exception):
    """Raised by a page handler to answer with the error page."""

    def __init__(self, status: int, title: str, message: str, *, link: str = "/",
                 link_text: str = "Về trang chủ", forget: FlowKind | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.message = message
        self.link = link
        self.link_text = link_text
        self.forget = forget


def flow_gone(kind: FlowKind) -> PageProblem:
    what, again = FLOW_NAMES[kind]
    return PageProblem(404, "Phiên giao dịch đã kết thúc",
                       f"Phiên {what} không còn hiệu lực (đã hết hạn hoặc đã hoàn tất). "
                       f"Vui lòng thực hiện lại từ đầu.",
                       link=FLOW_START[kind], link_text=again, forget=kind)


async def on_page_problem(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, PageProblem)
    response = render(request, "error.html", status=exc.status, problem=exc)
    if exc.forget:
        forget_flow(request, response, exc.forget)
    return response


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token proves it comes from our own page."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not csrf_ok(request, token if isinstance(token, str) else None):
        raise PageProblem(403, "Biểu mẫu không còn hợp lệ",
                          "Biểu mẫu đã hết hạn hoặc không được gửi từ trang của Cổng. Vui lòng "
                          "mở lại trang, nhập lại thông tin và gửi lại.",
                          link=request.url.path, link_text="Mở lại trang")
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def _flow_dependency(kind: FlowKind) -> Callable[[Request], Awaitable[WebFlow]]:
    async def current(request: Request) -> WebFlow:
        flow = read_flow(request, kind)
        if flow is None:
            raise flow_gone(kind)
        return flow

    return current


RegistrationFlow = Annotated[WebFlow, Depends(_flow_dependency("registration"))]
LoginFlow = Annotated[WebFlow, Depends(_flow_dependency("login"))]
ResetFlow = Annotated[WebFlow, Depends(_flow_dependency("reset"))]
MethodFlow = Annotated[WebFlow, Depends(_flow_dependency("method"))]
ReauthFlow = Annotated[WebFlow, Depends(_flow_dependency("reauth"))]


def page_problem_of(exc: RemoteError | ServiceUnavailable, kind: FlowKind | None = None) -> PageProblem:
    """The error page for a refusal a page cannot show beside a form (reading a step)."""
    if isinstance(exc, ServiceUnavailable):
        return PageProblem(503, "Hệ thống đang bận", DEFAULT_DETAIL["service_unavailable"],
                           link="/", link_text="Về trang chủ")
    if kind is not None and exc.code in FLOW_GONE_CODES:
        return flow_gone(kind)
    detail = str(exc.error.get("detail") or DEFAULT_DETAIL["internal"])
    return PageProblem(status_of(exc.code), "Không thể tiếp tục", detail)
