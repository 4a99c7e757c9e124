"""Quầy Bưu điện: an agent registers a citizen at the counter in two steps, as
``POST /api/v1/agent/registrations`` and ``…/{id}/otp`` do. profile ``agent_session`` says
whether this browser's session is a recent one of an enabled agent and at which office (a
stale one goes to "Xác thực lại" and comes back); registration sends a code to the citizen's
phone, and the account exists only once the agent types the code the citizen reads back.
Any other session gets a 403 page."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.gateway.dependencies import SESSION_COOKIE, Rpc
from services.gateway.web.dates import form_with_date, with_date_errors
from services.gateway.web.guards import (
    CheckedForm,
    PageProblem,
    page_problem_of,
    step_up_redirect,
)
from services.gateway.web.otp_screen import (
    OtpEnd,
    OtpScreen,
    new_code_sent,
    show_otp,
    show_refusal,
    typed_code,
)
from services.gateway.web.rendering import FormErrors, redirect, render
from services.gateway.web.security import WebFlow, forget_flow, read_flow, remember_flow
from shared.contracts import profile as PROFILE
from shared.contracts import registration as REG
from shared.rpc import RemoteError, ServiceUnavailable

PAGE = "/quay-buu-dien"
LOGIN = "/dang-nhap?tab=buu-dien"
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
GONE = PageProblem(404, "Không tìm thấy yêu cầu đăng ký",
                   "Yêu cầu đăng ký tại quầy này không còn hiệu lực. Vui lòng nhập lại "
                   "thông tin công dân.", link=PAGE, link_text="Đăng ký lại", forget="counter")
FLOW_GONE = frozenset({"not_found", "flow_expired", "flow_state"})
COUNTER_ENDED = OtpEnd("Chưa đăng ký được tài khoản",
                       "Mã xác nhận đã bị nhập sai quá 5 lần nên yêu cầu đăng ký này đã dừng "
                       "lại. Vui lòng nhập lại thông tin để gửi mã mới cho công dân.",
                       PAGE, "Đăng ký lại cho công dân")
COUNTER_RESENT = "Đã gửi mã mới đến số điện thoại của công dân. Mã cũ không còn dùng được."


@router.get("", response_class=HTMLResponse)
async def counter_page(request: Request, rpc: Rpc) -> Response:
    agent = await _agent(request, rpc, PAGE)
    if isinstance(agent, Response):
        return agent
    return render(request, "post_office_counter.html", office=agent.office.wire(),
                  values={})


@router.post("", response_class=HTMLResponse)
async def start_at_counter(request: Request, form: CheckedForm, rpc: Rpc) -> Response:
    agent = await _agent(request, rpc, PAGE)
    if isinstance(agent, Response):
        return agent
    office = agent.office.wire()
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
        start = REG.CounterStart.model_validate(values | {CHECKED: True} | dict(_ref(agent)))
        started = await rpc.ask(REG.AGENT_REGISTER_START, start)
    except ValidationError as exc:
        refusal = with_date_errors(FormErrors.of_contract(exc, (*FIELDS, CHECKED)), born,
                                   "birth_date", (*FIELDS, CHECKED))
        return render(request, "post_office_counter.html", office=office, values=shown,
                      errors=refusal)
    except (RemoteError, ServiceUnavailable) as exc:
        refusal = with_date_errors(FormErrors.of(exc, (*FIELDS, CHECKED)), born, "birth_date",
                                   (*FIELDS, CHECKED))
        return render(request, "post_office_counter.html", office=office, values=shown,
                      errors=refusal)
    response = redirect(f"{PAGE}/{quote(started.id, safe='')}/ma-xac-nhan"
                        f"?so={quote(started.phone_masked or '')}")
    remember_flow(request, response, WebFlow(
        "counter", started.id, "-", phone_masked=started.phone_masked,
        resend_available_at=started.resend_available_at))
    return response


@router.get("/{registration_id}/ma-xac-nhan", response_class=HTMLResponse)
async def code_page(request: Request, registration_id: str, rpc: Rpc,
                    so: str = "") -> Response:
    screen = _code_screen(registration_id)
    agent = await _agent(request, rpc, screen.action)
    if isinstance(agent, Response):
        return agent
    return show_otp(request, screen, _counter_flow(request, registration_id, so),
                    office=agent.office.wire())


@router.post("/{registration_id}/ma-xac-nhan", response_class=HTMLResponse)
async def confirm_at_counter(request: Request, registration_id: str, form: CheckedForm,
                             rpc: Rpc, so: str = "") -> Response:
    screen = _code_screen(registration_id)
    agent = await _agent(request, rpc, screen.action)
    if isinstance(agent, Response):
        return agent
    office = agent.office.wire()
    flow = _counter_flow(request, registration_id, so)
    code, problem = typed_code(request, form)
    if problem is not None:  # told at once, no attempt spent
        return show_otp(request, screen, flow, errors=problem, office=office)
    try:
        created = await rpc.ask(REG.AGENT_REGISTER_CONFIRM, REG.CounterOtp(
            **dict(_counter_flow_ref(registration_id, agent)), code=code[:16]))
    except (RemoteError, ServiceUnavailable) as exc:
        if isinstance(exc, RemoteError) and exc.code in FLOW_GONE:
            raise GONE from exc
        return show_refusal(request, screen, flow, FormErrors.of(exc, ("code",)), office=office)
    response = render(request, "post_office_done.html", created=created.wire(), office=office)
    forget_flow(request, response, "counter")
    return response


@router.post("/{registration_id}/ma-xac-nhan/gui-lai", response_class=HTMLResponse)
async def resend_at_counter(request: Request, registration_id: str, form: CheckedForm,
                            rpc: Rpc, so: str = "") -> Response:
    screen = _code_screen(registration_id)
    agent = await _agent(request, rpc, screen.action)
    if isinstance(agent, Response):
        return agent
    office = agent.office.wire()
    flow = _counter_flow(request, registration_id, so)
    try:
        resent = await rpc.ask(REG.AGENT_REGISTER_RESEND,
                               _counter_flow_ref(registration_id, agent))
    except (RemoteError, ServiceUnavailable) as exc:
        if isinstance(exc, RemoteError) and exc.code in FLOW_GONE:
            raise GONE from exc
        return show_refusal(request, screen, flow, FormErrors.of(exc, ("code",)), office=office)
    flow = new_code_sent(request, replace(flow, phone_masked=resent.phone_masked or flow.phone_masked),
                         resent.resend_available_at)
    response = show_otp(request, screen, flow, notice=COUNTER_RESENT, office=office)
    remember_flow(request, response, flow)
    return response


def _code_screen(registration_id: str) -> OtpScreen:
    """The shared OTP screen in the counter's words (the agent types what the citizen reads)."""
    action = f"{PAGE}/{quote(registration_id, safe='')}/ma-xac-nhan"
    return OtpScreen(heading="Xác nhận số điện thoại của công dân", action=action,
                     resend_action=f"{action}/gui-lai", back=PAGE,
                     back_text="Hủy và đăng ký cho công dân khác",
                     step="Bước 2/2: Xác nhận số điện thoại", ended=COUNTER_ENDED,
                     template="post_office_counter_code.html", code_label="Mã xác nhận",
                     code_autocomplete="off", submit_text="Xác nhận và tạo tài khoản",
                     resend_text="Gửi lại mã")


def _counter_flow(request: Request, registration_id: str, shown_phone: str) -> WebFlow:
    """This browser's counter flow for that registration; without one (another browser, a
    lost cookie) the page still works, with no countdown and the number from the link."""
    flow = read_flow(request, "counter")
    if flow is not None and flow.id == registration_id:
        return flow
    return WebFlow("counter", registration_id, "-", phone_masked=shown_phone[:20] or None)


def _ref(agent: PROFILE.AgentSession) -> REG.CounterAgent:
    """Who registers, for the registration service: the agent of ``agent_session``."""
    return REG.CounterAgent(agent_account_id=agent.account_id, office=agent.office)


def _counter_flow_ref(registration_id: str,
                      agent: PROFILE.AgentSession) -> REG.CounterFlowRef:
    """The agent's counter flow the link names; an id the service could never have minted
    names no flow (the page of a flow that is gone, as for an unknown one)."""
    who = _ref(agent)
    try:
        return REG.CounterFlowRef(id=registration_id, **dict(who))
    except ValidationError as exc:
        raise GONE from exc


async def _agent(request: Request, rpc: Rpc,
                 back: str) -> PROFILE.AgentSession | Response:
    """The agent behind the session, or where to send whoever is not one yet: the login page
    (no session), the step-up page (a stale session, back to ``back``)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return redirect(LOGIN)
    try:
        agent = await rpc.ask(PROFILE.AGENT_SESSION, PROFILE.SessionRef(session_token=token))
    except RemoteError as exc:
        if exc.code == "unauthenticated":
            return redirect(LOGIN)
        if exc.code == "forbidden":
            raise NOT_AN_AGENT from exc
        if exc.code == "account_disabled":
            raise DISABLED from exc
        step_up = step_up_redirect(exc, back)
        if step_up is not None:
            return step_up
        raise page_problem_of(exc) from exc
    except ServiceUnavailable as exc:
        raise page_problem_of(exc) from exc
    return agent
