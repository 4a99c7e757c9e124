"""The consent page of the authorization endpoint (docs/oidc.md): before a portal gets a
citizen's data, the page names the portal and the data it asks, in plain words, and asks
"Đồng ý" or "Từ chối". The oidc service decides when it is shown (``action="consent"``) and
remembers the answer; this module renders the page and checks its form: a CSRF token (the
house's ``CheckedForm``) and a binding of the form to the authorization request it showed and
to this browser's session, so an answer is never replayed onto another request or browser.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from services.gateway.dependencies import SESSION_COOKIE
from services.gateway.web.guards import PageProblem
from services.gateway.web.rendering import CONTENT_SECURITY_POLICY, render
from shared.contracts.oidc import AuthorizationOutcome
from shared.crypto import keyed_hash, same

CONSENT_PATH = "/oidc/dong-y"
AUTHORIZE_PATH = "/oidc/authorize"
# The data of each scope, as the person reads it (openid: the portal only learns who logs in).
SCOPE_WORDS = {
    "openid": "Xác nhận bạn đã đăng nhập (một mã riêng cho ứng dụng này)",
    "profile": "Họ tên, ngày sinh, giới tính",
    "phone": "Số điện thoại",
    "email": "Thư điện tử",
    "vn_identity": "Số định danh / mã số thuế, mã cơ quan",
}
ANSWERS: dict[str, Literal["granted", "denied"]] = {"dong-y": "granted", "tu-choi": "denied"}


def scope_words(scopes: list[str]) -> list[str]:
    return [SCOPE_WORDS[scope] for scope in scopes if scope in SCOPE_WORDS]


def consent_page(request: Request, outcome: AuthorizationOutcome, *, target: str,
                 redirect_uri: str) -> HTMLResponse:
    page = render(request, "oidc_consent.html", client_name=outcome.client_name,
                  data=scope_words(outcome.scopes or []), target=target,
                  binding=_binding(request, target), action=CONSENT_PATH)
    # The answer ends at the portal's redirect URI (a code, or access_denied): its origin may
    # be the end of this form's redirect (CSP form-action), nothing else.
    parts = urlsplit(redirect_uri)
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}")
    return page


def consent_answer(request: Request,
                   form: FormData) -> tuple[str, Literal["granted", "denied"]]:
    """The authorization request the (CSRF-checked) form answers and the answer; a form not
    bound to this browser's session and that very request is refused."""
    target, binding, decision = (str(form.get(name) or "")
                                 for name in ("target", "binding", "decision"))
    answer = ANSWERS.get(decision)
    if (answer is None or not target.startswith(f"{AUTHORIZE_PATH}?") or len(target) > 16384
            or not same(binding, _binding(request, target))):
        raise PageProblem(400, "Không thể ghi nhận lựa chọn",
                          "Trang xác nhận chia sẻ thông tin không còn hợp lệ (đã hết hạn hoặc "
                          "bạn đã đăng nhập lại). Vui lòng quay lại ứng dụng và thử lại.")
    return target, answer


def _binding(request: Request, target: str) -> str:
    secret: str = request.app.state.settings.web_secret
    session = request.cookies.get(SESSION_COOKIE) or ""
    return keyed_hash(secret, f"consent|{keyed_hash(secret, session)}|{target}")
