"""Đăng ký bằng Sim ký số và USB ký số (citizens and enterprises, level 3).

SIM: the phone form starts the flow; the waiting screen shows the verification code until the
person approves on the phone (``signing.py``: polled by script, or checked again by the
button). USB: a start button opens the flow and its challenge; the signing page's script has
the local agent sign it and posts the signature here. Both then show the identity read from
the certificate for the person to confirm, with an e-mail (required for enterprises).
The calls are the JSON API's: ``start``, ``get``, ``submit_signature``, ``confirm`` (the
requests of ``shared/contracts/registration.py``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from services.gateway.dependencies import Rpc
from services.gateway.web.guards import (
    FLOW_GONE_CODES,
    CheckedForm,
    PageProblem,
    RegistrationFlow,
    flow_gone,
    page_problem_of,
)
from services.gateway.web.registration import STEP_PAGES, SUBJECTS, Subject, flow_ref
from services.gateway.web.rendering import FormErrors, form_values, redirect, render
from services.gateway.web.security import WebFlow, read_flow, remember_flow
from services.gateway.web.signing import (
    failed_detail,
    poll_answer,
    show_sim_waiting,
    show_usb_signing,
    signed_payload,
)
from shared.contracts import registration as REG
from shared.rpc import RemoteError, ServiceUnavailable

router = APIRouter(include_in_schema=False)

SIGN_PAGE = STEP_PAGES["awaiting_signature"]  # /dang-ky/chu-ky-so/ky
CONFIRM_PAGE = STEP_PAGES["awaiting_confirmation"]  # /dang-ky/chu-ky-so/xac-nhan
STATUS_URL = "/dang-ky/chu-ky-so/trang-thai"
ID_TYPES = {"CCCD": "Căn cước công dân", "CMND": "Chứng minh nhân dân", "HC": "Hộ chiếu",
            "MST": "Mã số thuế"}


@router.get("/dang-ky/{slug}/sim-ky-so", response_class=HTMLResponse)
async def sim_form(request: Request, slug: str) -> HTMLResponse:
    return render(request, "register_sim.html", subject=_subject(slug), values={})


@router.post("/dang-ky/{slug}/sim-ky-so", response_class=HTMLResponse)
async def start_sim(request: Request, slug: str, form: CheckedForm, rpc: Rpc) -> Response:
    subject = _subject(slug)
    values, errors = form_values(form, ("phone",))
    if not errors and not values.get("phone"):
        errors = FormErrors.invalid({"phone": "Vui lòng nhập số điện thoại có Sim ký số."})
    if errors:
        return render(request, "register_sim.html", subject=subject, values=values, errors=errors)
    try:
        start = REG.SimStart(subject_type=subject.api_name, method="sim", phone=values["phone"])
        started = await rpc.ask(REG.START, start)
    except ValidationError as exc:
        errors = FormErrors.of_contract(exc, ("phone",))
        return render(request, "register_sim.html", subject=subject, values=values, errors=errors)
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ("phone",))
        if errors.code == "validation_error" and not errors.fields and errors.detail:
            errors.add("phone", errors.detail)
        return render(request, "register_sim.html", subject=subject, values=values, errors=errors)
    return _started(request, started, verification_code=started.verification_code)


@router.get("/dang-ky/{slug}/usb-ky-so", response_class=HTMLResponse)
async def usb_intro(request: Request, slug: str) -> HTMLResponse:
    return render(request, "register_usb.html", subject=_subject(slug))


@router.post("/dang-ky/{slug}/usb-ky-so", response_class=HTMLResponse)
async def start_usb(request: Request, slug: str, form: CheckedForm, rpc: Rpc) -> Response:
    subject = _subject(slug)
    try:
        started = await rpc.ask(REG.START, REG.UsbStart(subject_type=subject.api_name,
                                                        method="usb"))
    except (RemoteError, ServiceUnavailable) as exc:
        return render(request, "register_usb.html", subject=subject,
                      errors=FormErrors.of(exc, ()))
    return _started(request, started, challenge=started.challenge)


@router.get(SIGN_PAGE, response_class=HTMLResponse)
async def signing_page(request: Request, flow: RegistrationFlow, rpc: Rpc) -> Response:
    view = await _read(rpc, flow)
    if (elsewhere := _step_elsewhere(view, "awaiting_signature")) is not None:
        return elsewhere
    return _signing_page(request, flow, view.method)


@router.post(SIGN_PAGE, response_class=HTMLResponse)
async def submit_usb_signature(request: Request, form: CheckedForm, flow: RegistrationFlow,
                               rpc: Rpc) -> Response:
    payload, errors = signed_payload(form)
    if not errors:
        try:
            signed = REG.SubmitSignature.model_validate(flow_ref(flow).wire() | payload)
            await rpc.ask(REG.SUBMIT_SIGNATURE, signed)
            return redirect(CONFIRM_PAGE)
        except ValidationError as exc:  # a chain longer than any certificate chain
            errors = FormErrors.of_contract(exc, ())
        except (RemoteError, ServiceUnavailable) as exc:
            errors = FormErrors.of(exc, ())
            if errors.code in FLOW_GONE_CODES:
                raise flow_gone("registration") from exc
            # A duplicate or a certificate of the other subject type fails the flow: its read
            # says where to go (the page that says why).
            if errors.code in ("account_exists", "validation_error") and (
                    elsewhere := _step_elsewhere(await _read(rpc, flow),
                                                 "awaiting_signature")) is not None:
                return elsewhere
    return _signing_page(request, flow, "usb", errors)


@router.get(STATUS_URL)
async def signature_status(request: Request, rpc: Rpc) -> JSONResponse:
    """For the SIM waiting screen's script: where the flow is, and the page to go on to."""
    flow = read_flow(request, "registration")
    if flow is None:
        return poll_answer("gone", "/dang-ky")
    try:
        view = await _read_raw(rpc, flow)
    except (RemoteError, ServiceUnavailable) as exc:
        if isinstance(exc, RemoteError) and exc.code in FLOW_GONE_CODES:
            return poll_answer("gone", SIGN_PAGE)
        return poll_answer("unknown")  # busy: the script asks again
    status = view.status
    if status == "awaiting_signature":
        return poll_answer(status)
    return poll_answer(status, STEP_PAGES.get(status, SIGN_PAGE))


@router.get(CONFIRM_PAGE, response_class=HTMLResponse)
async def confirmation_page(request: Request, flow: RegistrationFlow, rpc: Rpc) -> Response:
    view = await _read(rpc, flow)
    if (elsewhere := _step_elsewhere(view, "awaiting_confirmation")) is not None:
        return elsewhere
    return _confirmation(request, view, {})


@router.post(CONFIRM_PAGE, response_class=HTMLResponse)
async def confirm(request: Request, form: CheckedForm, flow: RegistrationFlow,
                  rpc: Rpc) -> Response:
    values, errors = form_values(form, ("email",))
    if not errors:
        try:
            confirmation = REG.ConfirmIdentity.model_validate(flow_ref(flow).wire() | values)
            await rpc.ask(REG.CONFIRM, confirmation)
            return redirect(STEP_PAGES["completed"])
        except ValidationError as exc:  # an address longer than any e-mail address
            errors = FormErrors.of_contract(exc, ("email",))
        except (RemoteError, ServiceUnavailable) as exc:
            errors = FormErrors.of(exc, ("email",))
            if errors.code in FLOW_GONE_CODES:
                raise flow_gone("registration") from exc
            if errors.code == "email_required" and not errors.fields and errors.detail:
                errors.add("email", errors.detail)
    view = await _read(rpc, flow)
    if (elsewhere := _step_elsewhere(view, "awaiting_confirmation")) is not None:
        return elsewhere
    return _confirmation(request, view, values, errors)


def _subject(slug: str) -> Subject:
    subject = SUBJECTS.get(slug)
    if subject is None:
        raise PageProblem(404, "Không tìm thấy trang", "Đối tượng đăng ký này không có.",
                          link="/dang-ky", link_text="Chọn đối tượng đăng ký")
    return subject


def _started(request: Request, started: REG.RegistrationStarted, **shown: Any) -> Response:
    flow = WebFlow("registration", started.id, started.flow_token,
                   phone_masked=started.phone_masked, **shown)
    response = redirect(STEP_PAGES.get(started.status, SIGN_PAGE))
    remember_flow(request, response, flow)
    return response


def _signing_page(request: Request, flow: WebFlow, method: str,
                  errors: FormErrors | None = None) -> HTMLResponse:
    if method == "sim":
        return show_sim_waiting(request, flow, heading="Xác nhận trên điện thoại",
                                action=SIGN_PAGE, status_url=STATUS_URL, back="/dang-ky",
                                errors=errors)
    return show_usb_signing(request, flow, SIGN_PAGE, heading="Ký số bằng USB ký số",
                            back="/dang-ky", errors=errors)


def _confirmation(request: Request, view: REG.RegistrationView, values: dict[str, str],
                  errors: FormErrors | None = None) -> HTMLResponse:
    identity = view.identity.wire() if view.identity is not None else {}
    return render(request, "register_confirm.html", identity=identity,
                  id_type=ID_TYPES.get(str(identity.get("id_type")), identity.get("id_type")),
                  certificate=view.certificate.wire() if view.certificate is not None else {},
                  enterprise=view.subject_type == "enterprise",
                  method=view.method, values=values, errors=errors)


async def _read_raw(rpc: Rpc, flow: WebFlow) -> REG.RegistrationView:
    return await rpc.ask(REG.GET, REG.ReadRegistration(id=flow.id, flow_token=flow.token))


async def _read(rpc: Rpc, flow: WebFlow) -> REG.RegistrationView:
    try:
        return await _read_raw(rpc, flow)
    except (RemoteError, ServiceUnavailable) as exc:
        raise page_problem_of(exc, "registration") from exc


def _step_elsewhere(view: REG.RegistrationView, expected: str) -> Response | None:
    status = view.status
    if status == expected:
        return None
    if status == "failed":
        raise PageProblem(400, "Đăng ký không thành công",
                          f"{failed_detail(view.code)} Hồ sơ đăng ký này đã dừng lại; "
                          "vui lòng đăng ký lại từ đầu.", link="/dang-ky",
                          link_text="Đăng ký lại", forget="registration")
    return redirect(STEP_PAGES.get(status, "/dang-ky"))
