"""Quầy Bưu điện: an agent registers a citizen at the counter, as ``POST
/api/v1/agent/registrations`` does (profile ``agent_session`` says whether this browser's
session is an agent's and at which office; registration ``agent_register`` creates the
account and sends the initial password by SMS). Any other session gets a 403 page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.dependencies import SESSION_COOKIE, Rpc
from services.gateway.web.guards import CheckedForm, PageProblem, page_problem_of
from services.gateway.web.rendering import FormErrors, form_values, redirect, render
from shared.rpc import RemoteError, ServiceUnavailable

PAGE = "/quay-buu-dien"
router = APIRouter(prefix=PAGE, include_in_schema=False)
FIELDS = ("id_number", "full_name", "birth_date", "sex", "phone", "email")
CHECKED = "id_document_checked"
NOT_AN_AGENT = PageProblem(403, "Không có quyền truy cập",
                           "Trang này chỉ dành cho nhân viên bưu điện đăng ký tài khoản cho công "
                           "dân tại quầy. Tài khoản bạn đang dùng không phải tài khoản nhân viên "
                           "bưu điện.", link="/tai-khoan", link_text="Về trang tài khoản")


class _NoSession(Exception):
    pass


@router.get("", response_class=HTMLResponse)
async def counter_page(request: Request, rpc: Rpc) -> Response:
    try:
        agent = await _agent(request, rpc)
    except _NoSession:
        return redirect("/dang-nhap?tab=buu-dien")
    return render(request, "post_office_counter.html", office=agent.get("office") or {},
                  values={})


@router.post("", response_class=HTMLResponse)
async def register_at_counter(request: Request, form: CheckedForm, rpc: Rpc) -> Response:
    try:
        agent = await _agent(request, rpc)
    except _NoSession:
        return redirect("/dang-nhap?tab=buu-dien")
    office = agent.get("office") or {}
    values, errors = form_values(form, FIELDS)
    checked = form.get(CHECKED) == "1"
    if not checked:
        errors.add(CHECKED, "Vui lòng kiểm tra giấy tờ tùy thân của công dân và đánh dấu ô này.")
        errors = FormErrors.invalid({k: v[0] for k, v in errors.fields.items()})
    if errors:
        return render(request, "post_office_counter.html", office=office, values=values,
                      errors=errors)
    try:
        created: dict[str, Any] = await rpc.call(
            "registration", "agent_register",
            values | {CHECKED: True, "agent_account_id": agent["account_id"], "office": office})
    except (RemoteError, ServiceUnavailable) as exc:
        return render(request, "post_office_counter.html", office=office, values=values,
                      errors=FormErrors.of(exc, (*FIELDS, CHECKED)))
    return render(request, "post_office_done.html", created=created, office=office,
                  full_name=values.get("full_name", ""))


async def _agent(request: Request, rpc: Rpc) -> dict[str, Any]:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise _NoSession
    try:
        agent: dict[str, Any] = await rpc.call("profile", "agent_session", {"session_token": token})
    except RemoteError as exc:
        if exc.code == "unauthenticated":
            raise _NoSession from exc
        if exc.code == "forbidden":
            raise NOT_AN_AGENT from exc
        raise page_problem_of(exc) from exc
    except ServiceUnavailable as exc:
        raise page_problem_of(exc) from exc
    return agent
