"""Đăng nhập bằng Sim ký số và USB ký số: the tabs' forms and the steps after them
(``signing.py`` for the shared screens).

SIM: the read of the flow that sees the approval on the phone completes the login and carries
the session once (``login_get``); whichever read gets it (the script's poll or the page's
reload) sets the session cookies, as ``GET /api/v1/logins/{id}`` does. USB: the signature the
local agent made is posted here and ``login_submit_signature`` opens the session.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from services.gateway.dependencies import Client, Rpc, Settings
from services.gateway.routers.logins import _set_session_cookies
from services.gateway.web.guards import FLOW_GONE_CODES, CheckedForm, LoginFlow, PageProblem, flow_gone
from services.gateway.web.login import _login_page
from services.gateway.web.rendering import FormErrors, form_values, redirect
from services.gateway.web.security import WebFlow, forget_flow, read_flow, remember_flow
from services.gateway.web.signing import (
    failed_detail,
    poll_answer,
    show_sim_waiting,
    show_usb_signing,
    signed_payload,
)
from services.gateway.web.sso_resume import sso_target
from services.gateway.web.vneid import link_target
from shared.contracts import profile as PROFILE
from shared.rpc import RemoteError, ServiceUnavailable

router = APIRouter(include_in_schema=False)

SIM_START = "/dang-nhap/sim-ky-so"
SIM_WAITING = "/dang-nhap/sim-ky-so/cho-xac-nhan"
SIM_STATUS = "/dang-nhap/sim-ky-so/trang-thai"
USB_START = "/dang-nhap/usb-ky-so"
USB_SIGN = "/dang-nhap/usb-ky-so/ky"
ACCOUNT = "/tai-khoan"


@router.post(SIM_START, response_class=HTMLResponse)
async def start_sim_login(request: Request, form: CheckedForm, client: Client,
                          rpc: Rpc) -> Response:
    values, errors = form_values(form, ("phone",))
    if not errors and not values.get("phone"):
        errors = FormErrors.invalid({"phone": "Vui lòng nhập số điện thoại có Sim ký số."})
    if errors:
        return _login_page(request, "sim", values, errors)
    try:
        start = PROFILE.SimLoginStart(method="sim", phone=values["phone"],
                                      **client.as_payload())
    except ValidationError as exc:  # longer than a phone number may be
        return _login_page(request, "sim", values, FormErrors.of_contract(exc, ("phone",)))
    try:
        started = await rpc.ask(PROFILE.LOGIN_START, start)
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ("phone",))
        if errors.code == "validation_error" and not errors.fields and errors.detail:
            errors.add("phone", errors.detail)
        return _login_page(request, "sim", values, errors)
    return _started(request, started, SIM_WAITING, verification_code=started.verification_code)


@router.get(SIM_WAITING, response_class=HTMLResponse)
async def sim_waiting(request: Request, flow: LoginFlow, rpc: Rpc,
                      settings: Settings) -> Response:
    try:
        view = await _read(rpc, flow)
    except (RemoteError, ServiceUnavailable) as exc:
        if isinstance(exc, RemoteError) and exc.code in FLOW_GONE_CODES:
            raise flow_gone("login") from exc
        return show_sim_waiting(request, flow, heading="Xác nhận đăng nhập trên điện thoại",
                                action=SIM_WAITING, status_url=SIM_STATUS,
                                back="/dang-nhap?tab=sim", errors=FormErrors.of(exc, ()))
    if view.status == "awaiting_signature":
        return show_sim_waiting(request, flow, heading="Xác nhận đăng nhập trên điện thoại",
                                action=SIM_WAITING, status_url=SIM_STATUS,
                                back="/dang-nhap?tab=sim")
    if view.status == "failed":
        raise _failed(view.code, "sim")
    response = redirect(link_target(request) or sso_target(request) or ACCOUNT)
    _signed_in(request, response, view, settings.secure_cookies)
    return response


@router.get(SIM_STATUS)
async def sim_status(request: Request, rpc: Rpc, settings: Settings) -> JSONResponse:
    """For the waiting screen's script; the answer that sees the approval sets the session."""
    flow = read_flow(request, "login")
    if flow is None:
        return poll_answer("gone", "/dang-nhap?tab=sim")
    try:
        view = await _read(rpc, flow)
    except RemoteError as exc:
        if exc.code in FLOW_GONE_CODES:
            return poll_answer("gone", SIM_WAITING)
        return poll_answer("unknown")
    except ServiceUnavailable:
        return poll_answer("unknown")  # busy: the script asks again
    if view.status == "awaiting_signature":
        return poll_answer(view.status)
    if view.status == "failed":
        return poll_answer(view.status, SIM_WAITING)  # that page says why
    response = poll_answer(view.status, link_target(request) or sso_target(request) or ACCOUNT)
    _signed_in(request, response, view, settings.secure_cookies)
    return response


@router.post(USB_START, response_class=HTMLResponse)
async def start_usb_login(request: Request, form: CheckedForm, client: Client,
                          rpc: Rpc) -> Response:
    try:
        started = await rpc.ask(PROFILE.LOGIN_START,
                                PROFILE.UsbLoginStart(method="usb", **client.as_payload()))
    except (RemoteError, ServiceUnavailable) as exc:
        return _login_page(request, "usb", {}, FormErrors.of(exc, ()))
    return _started(request, started, USB_SIGN, challenge=started.challenge)


@router.get(USB_SIGN, response_class=HTMLResponse)
async def usb_signing(request: Request, flow: LoginFlow) -> HTMLResponse:
    return _usb_page(request, flow)


@router.post(USB_SIGN, response_class=HTMLResponse)
async def submit_usb_signature(request: Request, form: CheckedForm, flow: LoginFlow,
                               client: Client, rpc: Rpc, settings: Settings) -> Response:
    payload, errors = signed_payload(form)
    if errors:
        return _usb_page(request, flow, errors)
    try:
        signed = PROFILE.LoginSignature(id=flow.id, flow_token=flow.token, **payload,
                                        **client.as_payload())
    except ValidationError as exc:  # longer than any certificate or signature may be
        return _usb_page(request, flow, FormErrors.of_contract(exc, ()))
    try:
        done = await rpc.ask(PROFILE.LOGIN_SUBMIT_SIGNATURE, signed)
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ())
        if errors.code in FLOW_GONE_CODES:
            raise flow_gone("login") from exc
        if errors.code == "certificate_not_registered":
            raise _failed(errors.code, "usb") from exc
        return _usb_page(request, flow, errors)
    response = redirect(link_target(request) or sso_target(request) or ACCOUNT)
    _signed_in(request, response, done, settings.secure_cookies)
    return response


def _started(request: Request, started: PROFILE.LoginStarted, page: str,
             **shown: Any) -> Response:
    flow = WebFlow("login", started.id, started.flow_token,
                   phone_masked=started.phone_masked, **shown)
    response = redirect(page)
    remember_flow(request, response, flow)
    return response


def _usb_page(request: Request, flow: WebFlow, errors: FormErrors | None = None) -> HTMLResponse:
    return show_usb_signing(request, flow, USB_SIGN, heading="Đăng nhập bằng USB ký số",
                            back="/dang-nhap?tab=usb", errors=errors)


async def _read(rpc: Rpc, flow: WebFlow) -> PROFILE.LoginFlowView:
    return await rpc.ask(PROFILE.LOGIN_GET,
                         PROFILE.LoginFlowRef(id=flow.id, flow_token=flow.token))


def _signed_in(request: Request, response: Response,
               answer: PROFILE.LoginFlowView | PROFILE.LoginCompleted, secure: bool) -> None:
    """The login completed: the session cookies when this answer carries the session (only
    the first read after the approval does), and the flow is done."""
    if answer.session_token:
        _set_session_cookies(response, answer.session_token, secure)
    forget_flow(request, response, "login")


def _failed(code: str | None, tab: str) -> PageProblem:
    return PageProblem(400, "Đăng nhập không thành công", failed_detail(code),
                       link=f"/dang-nhap?tab={tab}", link_text="Đăng nhập lại", forget="login")
