"""Ứng dụng đã kết nối: the portals this account agreed to give data to (the oidc service's
consents, ``dvcid.oidc.connected_apps``), each with the data it gets, its first and last use,
and "Thu hồi": the consent ends, and with it that portal's access and refresh tokens for the
account (``dvcid.oidc.revoke_consent``; docs/oidc.md). The account is the browser's session's,
never one the form names."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.dependencies import SESSION_COOKIE, Rpc, SessionCredentials, current_session
from services.gateway.session_mirror import Mirror
from services.gateway.web.account import ACCOUNT_PAGES, LoginNeeded
from services.gateway.web.account_logins import _when
from services.gateway.web.guards import CheckedForm, page_problem_of
from services.gateway.web.oidc_consent import scope_words
from services.gateway.web.rendering import redirect, render
from shared.contracts import oidc as OIDC
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

PAGE = "/tai-khoan/ung-dung"
router = APIRouter(prefix=PAGE, include_in_schema=False)
NOTICES = {"da-thu-hoi": "Đã thu hồi quyền của ứng dụng. Ứng dụng sẽ phải hỏi lại nếu bạn "
                         "đăng nhập vào đó lần sau."}


@router.get("", response_class=HTMLResponse)
async def apps_page(request: Request, rpc: Rpc, mirror: Mirror, tb: str = "") -> Response:
    account_id = await _account(request, rpc, mirror)
    try:
        apps = await rpc.ask(OIDC.CONNECTED_APPS, OIDC.ConnectedAppsOf(account_id=account_id))
    except (RemoteError, ServiceUnavailable) as exc:
        raise page_problem_of(exc) from exc
    return render(request, "account_apps.html", pages=ACCOUNT_PAGES, current=PAGE,
                  apps=[{"client_id": app.client_id, "name": app.name,
                         "data": scope_words(app.scopes),
                         "first": _when(app.first_used_at), "last": _when(app.last_used_at)}
                        for app in apps.items],
                  notice=NOTICES.get(tb))


@router.post("/thu-hoi", response_class=HTMLResponse)
async def revoke(request: Request, form: CheckedForm, rpc: Rpc, mirror: Mirror) -> Response:
    account_id = await _account(request, rpc, mirror)
    client_id = str(form.get("client_id") or "")[:2048]
    try:
        await rpc.ask(OIDC.REVOKE_CONSENT,
                      OIDC.RevokeConsent(account_id=account_id, client_id=client_id))
    except (RemoteError, ServiceUnavailable) as exc:
        raise page_problem_of(exc) from exc
    return redirect(f"{PAGE}?tb=da-thu-hoi")


async def _account(request: Request, rpc: RpcClient, mirror: Mirror) -> str:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginNeeded
    try:
        session = await current_session(SessionCredentials(token, from_cookie=True), rpc, mirror)
    except RemoteError as exc:
        if exc.code == "unauthenticated":
            raise LoginNeeded from exc
        raise
    return session.account_id
