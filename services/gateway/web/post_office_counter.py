"""Quầy Bưu điện: an agent registers a citizen at the counter in two steps, as
``POST /api/v1/agent/registrations`` and ``…/{id}/otp`` do. profile ``agent_session`` says
whether this browser's session is a recent one of an enabled agent and at which office (a
stale one goes to "Xác thực lại" and comes back); registration sends a code to the citizen's
phone, and the account exists only once the agent types the code the citizen reads back.
Any other session gets a 403 page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.dependencies import SESSION_COOKIE, Rpc
from services.gateway.web.dates import form_with_date, with_date_errors
from services.gateway.web.guards import (
    CheckedForm,
    PageProblem,
    page_problem_of,
    step_up_redirect,
)
from services.gateway.web.rendering import FormErrors, redirect, render
from shared.rpc import RemoteError, ServiceUnavailable

PAGE = "/quay-buu-dien"
router = APIRouter(prefix=PAGE, include_in_schema=False)
FIELDS = ("id_number", "full_name", "birth_date", "sex", "phone", "email")
CHECKED = "id_document_checked"
NOT_AN_AGENT = PageProblem(403, "Không có quyền truy cập",
                           "Trang này chỉ dành cho nhân viên bưu điện đăng ký tài khoản cho công "
                           "dân tại quầy. Tài khoản bạn đang dùng không phải tài khoản nhân viên "
                           "bưu điện.", link="/tai-khoan", link_text="Về trang tài khoản")
DISABLED = PageProblem(403, "Tài khoản đã bị vô hiệu hóa",
                       "Tài khoản nhân viên này đã bị vô hiệu hóa. Vui lòng liên hệ quản trị "
                       "viên.", link="/", link_text="Về trang chủ")
FLOW_GONE = PageProblem(404, "Không tìm thấy yêu cầu đăng ký",
                        "Yêu cầu đăng ký tại quầy này không còn hiệu lực. Vui lòng nhập lại "
                        "thông tin công dân.", link=PAGE, link_text="Đăng ký lại")


class _NoSession(Exception):
    pass


class _StepUp(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("step-up")
        self.response = response


@router.get("", response_class=HTMLResponse)
async def counter_page(request: Request, rpc: Rpc) -> Response:
    try:
        agent = await _agent(request, rpc, PAGE)
    except _NoSession:
        return redirect("/dang-nhap?tab=buu-dien")
    except _StepUp as step_up:
        return step_up.response
    return render(request, "post_office_counter.html", office=agent.get("office") or {},
                  values={})


@router.post("", response_class=HTMLResponse)
async def start_at_counter(request: Request, form: CheckedForm, rpc: Rpc) -> Response:
    try:
        agent = await _agent(request, rpc, PAGE)
    except _NoSession:
        return redirect("/dang-nhap?tab=buu-dien")
    except _StepUp as step_up:
        return step_up.response
    office = agent.get("office") or {}
    values, shown, errors, born = form_with_date(form, FIELDS)
    checked = form.get(CHECKED) == "1"
    if not checked:
        errors.add(CHECKED, "Vui lòng kiểm tra giấy tờ tùy thân của công dân và đánh dấu ô này.")
        errors = with_date_errors(FormErrors.invalid({k: v[0] for k, v in errors.fields.items()}),
                                  born, "birth_date", (*FIELDS, CHECKED))
    if errors:
        return render(request, "post_office_counter.html", office=office, values=shown,
                      errors=errors)
    try:
        started: dict[str, Any] = await rpc.call(
            "registration", "agent_register_start", values | {CHECKED: True} | _ref(agent))
    except (RemoteError, ServiceUnavailable) as exc:
        refusal = with_date_errors(FormErrors.of(exc, (*FIELDS, CHECKED)), born, "birth_date",
                                   (*FIELDS, CHECKED))
        return render(request, "post_office_counter.html", office=office, values=shown,
                      errors=refusal)
    return redirect(f"{PAGE}/{quote(started['id'], safe='')}/ma-xac-nhan"
                    f"?so={quote(str(started.get('phone_masked') or ''))}")


@router.get("/{registration_id}/ma-xac-nhan", response_class=HTMLResponse)
async def code_page(request: Request, registration_id: str, rpc: Rpc,
                    so: str = "") -> Response:
    back = f"{PAGE}/{quote(registration_id, safe='')}/ma-xac-nhan"
    try:
        agent = await _agent(request, rpc, back)
    except _NoSession:
        return redirect("/dang-nhap?tab=buu-dien")
    except _StepUp as step_up:
        return step_up.response
    return render(request, "post_office_counter_code.html", office=agent.get("office") or {},
                  action=back, phone_masked=so[:20])


@router.post("/{registration_id}/ma-xac-nhan", response_class=HTMLResponse)
async def confirm_at_counter(request: Request, registration_id: str, form: CheckedForm,
                             rpc: Rpc, so: str = "") -> Response:
    back = f"{PAGE}/{quote(registration_id, safe='')}/ma-xac-nhan"
    try:
        agent = await _agent(request, rpc, back)
    except _NoSession:
        return redirect("/dang-nhap?tab=buu-dien")
    except _StepUp as step_up:
        return step_up.response
    office = agent.get("office") or {}
    endpoint, body = "agent_register_confirm", {"code": str(form.get("code") or "").strip()}
    if form.get("resend") == "1":
        endpoint, body = "agent_register_resend", {}
    try:
        answer: dict[str, Any] = await rpc.call(
            "registration", endpoint, {"id": registration_id} | body | _ref(agent))
    except (RemoteError, ServiceUnavailable) as exc:
        if isinstance(exc, RemoteError) and exc.code in ("not_found", "flow_expired",
                                                          "flow_state"):
            raise FLOW_GONE from exc
        return render(request, "post_office_counter_code.html", office=office, action=back,
                      phone_masked=so[:20], errors=FormErrors.of(exc, ("code",)))
    if endpoint == "agent_register_resend":
        return render(request, "post_office_counter_code.html", office=office, action=back,
                      phone_masked=answer.get("phone_masked") or so[:20], resent=True)
    return render(request, "post_office_done.html", created=answer, office=office)


def _ref(agent: dict[str, Any]) -> dict[str, Any]:
    return {"agent_account_id": agent["account_id"], "office": agent.get("office") or {}}


async def _agent(request: Request, rpc: Rpc, back: str) -> dict[str, Any]:
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
        if exc.code == "account_disabled":
            raise DISABLED from exc
        step_up = step_up_redirect(exc, back)
        if step_up is not None:
            raise _StepUp(step_up) from exc
        raise page_problem_of(exc) from exc
    except ServiceUnavailable as exc:
        raise page_problem_of(exc) from exc
    return agent
