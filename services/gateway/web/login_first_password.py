"""Đổi mật khẩu lần đầu: a login that answered ``password_change_required`` (an account made
at the post-office counter or by the operator still has its one-time password) sets a new
password (``login_change_password``, as ``POST /api/v1/logins/{id}/password``); the OTP then
goes to the account's phone and the login continues on its OTP screen."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.dependencies import Client, Rpc
from services.gateway.web.guards import FLOW_GONE_CODES, CheckedForm, LoginFlow, flow_gone
from services.gateway.web.login import FIRST_PASSWORD_PAGE
from services.gateway.web.new_password import new_password_errors, new_password_payload
from services.gateway.web.rendering import redirect, render
from services.gateway.web.security import remember_flow
from shared.contracts import profile as PROFILE
from shared.rpc import RemoteError, ServiceUnavailable

router = APIRouter(include_in_schema=False)


@router.get(FIRST_PASSWORD_PAGE, response_class=HTMLResponse)
async def first_password_page(request: Request, flow: LoginFlow) -> Response:
    return render(request, "login_first_password.html")


@router.post(FIRST_PASSWORD_PAGE, response_class=HTMLResponse)
async def set_first_password(request: Request, form: CheckedForm, flow: LoginFlow,
                             client: Client, rpc: Rpc) -> Response:
    payload, errors = new_password_payload(form)
    if errors:
        return render(request, "login_first_password.html", errors=errors)
    try:
        sent = await rpc.ask(PROFILE.LOGIN_CHANGE_PASSWORD, PROFILE.FirstPassword(
            id=flow.id, flow_token=flow.token, **payload, **client.as_payload()))
    except (RemoteError, ServiceUnavailable) as exc:
        refused = new_password_errors(exc)
        if refused.code in FLOW_GONE_CODES:
            raise flow_gone("login") from exc
        return render(request, "login_first_password.html", errors=refused)
    flow = replace(flow, phone_masked=sent.phone_masked,
                   resend_available_at=sent.resend_available_at)
    response = redirect("/dang-nhap/otp")
    remember_flow(request, response, flow)
    return response
