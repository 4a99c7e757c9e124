"""Đăng ký: subject type, then method, then the method's form and its steps.

Each step calls the registration service exactly as the JSON API does (the same endpoints of
``shared/contracts/registration.py``, the same requests); this module only turns forms into
requests (a value the contract refuses is shown beside its input, no service asked) and
answers into pages. A method whose flow is not built yet is listed as "Sắp ra mắt" until its page exists:
give its ``Method`` a ``path`` and add its routes (a module of its own, like this one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from services.gateway.dependencies import Rpc
from services.gateway.web.dates import form_with_date, with_date_errors
from services.gateway.web.guards import (
    FLOW_GONE_CODES,
    CheckedForm,
    PageProblem,
    RegistrationFlow,
    flow_gone,
    page_problem_of,
)
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
from shared.contracts import registration as REG
from shared.contracts.fields import FlowRef, SubjectType
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

router = APIRouter(prefix="/dang-ky", include_in_schema=False)


@dataclass(frozen=True)
class Subject:
    slug: str
    api_name: SubjectType  # subject_type of the API
    title: str


@dataclass(frozen=True)
class Method:
    api_name: str  # method of the API
    title: str
    description: str
    subjects: tuple[str, ...]
    level: int
    path: str | None = None  # the form's page; None while the flow is being built


SUBJECTS = {
    "cong-dan": Subject("cong-dan", "citizen", "Công dân"),
    "doanh-nghiep": Subject("doanh-nghiep", "enterprise", "Doanh nghiệp"),
}
METHODS = (
    Method("mobile", "Thuê bao di động",
           "Dùng số điện thoại di động đã đăng ký chính chủ; xác nhận bằng mã OTP gửi qua SMS.",
           ("citizen",), 2, path="/dang-ky/cong-dan/thue-bao-di-dong"),
    Method("bhxh", "Bảo hiểm xã hội",
           "Dùng mã số bảo hiểm xã hội (10 chữ số); xác nhận bằng mã OTP gửi qua SMS.",
           ("citizen",), 2, path="/dang-ky/cong-dan/bao-hiem-xa-hoi"),  # register_bhxh.py
    # ``{doi_tuong}``: the subject's slug (these methods serve both subjects).
    Method("sim", "Sim ký số",
           "Xác nhận và nhập mã PIN trên điện thoại có Sim ký số.", ("citizen", "enterprise"), 3,
           path="/dang-ky/{doi_tuong}/sim-ky-so"),  # register_signature.py
    Method("usb", "USB ký số",
           "Ký bằng chứng thư số trong USB ký số (cần cài công cụ ký điện tử).",
           ("citizen", "enterprise"), 3, path="/dang-ky/{doi_tuong}/usb-ky-so"),
)

MOBILE_FIELDS = ("id_number", "full_name", "birth_date", "sex", "phone", "email")
PASSWORD_FIELDS = ("password", "password_confirmation")
# The page of each status of a registration flow.
STEP_PAGES = {"otp_sent": "/dang-ky/otp", "awaiting_password": "/dang-ky/mat-khau",
              "completed": "/dang-ky/thanh-cong",
              # Digital-signature methods (register_signature.py).
              "awaiting_signature": "/dang-ky/chu-ky-so/ky",
              "awaiting_confirmation": "/dang-ky/chu-ky-so/xac-nhan"}
# The steps of the citizen's SMS registrations (mobile, BHXH): the form, the code, the password.
STEPS = ("Nhập thông tin", "Xác nhận số điện thoại", "Đặt mật khẩu")
FAILED = OtpEnd("Đăng ký không thành công",
                "Mã OTP đã bị nhập sai quá 5 lần nên hồ sơ đăng ký này đã dừng lại, để bảo vệ "
                "thông tin của bạn. Vui lòng đăng ký lại từ đầu.",
                "/dang-ky", "Đăng ký lại")
OTP_SCREEN = OtpScreen(heading="Xác nhận số điện thoại", action="/dang-ky/otp",
                       resend_action="/dang-ky/otp/gui-lai", back="/dang-ky/cong-dan",
                       back_text="Chọn phương thức đăng ký khác",
                       step=f"Bước 2/{len(STEPS)}: {STEPS[1]}", ended=FAILED)


@router.get("", response_class=HTMLResponse)
async def choose_subject(request: Request) -> HTMLResponse:
    return render(request, "register_subject.html", subjects=SUBJECTS.values())


@router.get("/cong-dan/thue-bao-di-dong", response_class=HTMLResponse)
async def mobile_form(request: Request) -> HTMLResponse:
    return render(request, "register_mobile.html", values={})


@router.post("/cong-dan/thue-bao-di-dong", response_class=HTMLResponse)
async def start_mobile(request: Request, form: CheckedForm, rpc: Rpc) -> Response:
    return await start_by_sms(request, form, rpc, SmsForm(
        REG.MobileStart, "mobile", MOBILE_FIELDS, "register_mobile.html"))


@dataclass(frozen=True)
class SmsForm:
    """The form of a citizen's registration proven by an SMS code (mobile, BHXH)."""

    request: type[REG.MobileStart] | type[REG.BhxhStart]
    method: str
    fields: tuple[str, ...]
    template: str
    # How the service's refusal is placed on this form.
    refusal: Callable[[RemoteError | ServiceUnavailable, tuple[str, ...]], FormErrors] = \
        FormErrors.of


async def start_by_sms(request: Request, form: FormData, rpc: RpcClient,
                       sms_form: SmsForm) -> Response:
    """The form → ``start`` → the code step (the flow in a cookie); what the contract or the
    service refuses is shown on the form again, beside its fields."""
    fields, template = sms_form.fields, sms_form.template
    values, shown, errors, born = form_with_date(form, fields)
    if errors:
        return render(request, template, values=shown, errors=errors)
    try:
        start = sms_form.request.model_validate(
            {"subject_type": "citizen", "method": sms_form.method} | values)
        started = await rpc.ask(REG.START, start)
    except ValidationError as exc:
        refusal = with_date_errors(FormErrors.of_contract(exc, fields), born, "birth_date",
                                   fields)
        return render(request, template, values=shown, errors=refusal)
    except (RemoteError, ServiceUnavailable) as exc:
        refusal = with_date_errors(sms_form.refusal(exc, fields), born, "birth_date", fields)
        return render(request, template, values=shown, errors=refusal)
    flow = WebFlow("registration", started.id, started.flow_token,
                   phone_masked=started.phone_masked,
                   resend_available_at=started.resend_available_at)
    response = redirect(STEP_PAGES.get(started.status, "/dang-ky/otp"))
    remember_flow(request, response, flow)
    return response


@router.get("/otp", response_class=HTMLResponse)
async def otp_page(request: Request, flow: RegistrationFlow, rpc: Rpc) -> Response:
    if (elsewhere := _step_elsewhere(await _read(rpc, flow), "otp_sent")) is not None:
        return elsewhere
    return show_otp(request, OTP_SCREEN, flow)


@router.post("/otp", response_class=HTMLResponse)
async def submit_otp(request: Request, form: CheckedForm, flow: RegistrationFlow,
                     rpc: Rpc) -> Response:
    code, problem = typed_code(request, form)
    if problem is not None:  # told at once, no attempt spent
        return show_otp(request, OTP_SCREEN, flow, errors=problem)
    try:
        await rpc.ask(REG.SUBMIT_OTP, REG.SubmitOtp(id=flow.id, flow_token=flow.token,
                                                    code=code[:16]))
    except (RemoteError, ServiceUnavailable) as exc:
        return _refused(request, exc, flow)
    return redirect("/dang-ky/mat-khau")


@router.post("/otp/gui-lai", response_class=HTMLResponse)
async def resend_otp(request: Request, form: CheckedForm, flow: RegistrationFlow,
                     rpc: Rpc) -> Response:
    try:
        resent = await rpc.ask(REG.RESEND_OTP, flow_ref(flow))
    except (RemoteError, ServiceUnavailable) as exc:
        return _refused(request, exc, flow)
    flow = new_code_sent(request, flow, resent.resend_available_at)
    response = show_otp(request, OTP_SCREEN, flow, notice=RESENT_NOTICE)
    remember_flow(request, response, flow)
    return response


@router.get("/mat-khau", response_class=HTMLResponse)
async def password_page(request: Request, flow: RegistrationFlow, rpc: Rpc) -> Response:
    if (elsewhere := _step_elsewhere(await _read(rpc, flow), "awaiting_password")) is not None:
        return elsewhere
    return render(request, "register_password.html")


@router.post("/mat-khau", response_class=HTMLResponse)
async def set_password(request: Request, form: CheckedForm, flow: RegistrationFlow,
                       rpc: Rpc) -> Response:
    # A blank field is left out: the service says it is missing.
    typed = {name: value for name in PASSWORD_FIELDS
             if isinstance(value := form.get(name), str) and value}
    try:
        choice = REG.SetPassword.model_validate(flow_ref(flow).wire() | typed)
    except ValidationError as exc:  # longer than any password may be
        return render(request, "register_password.html",
                      errors=FormErrors.of_contract(exc, PASSWORD_FIELDS))
    try:
        await rpc.ask(REG.SET_PASSWORD, choice)
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, PASSWORD_FIELDS)
        if errors.code in FLOW_GONE_CODES:
            raise flow_gone("registration") from exc
        return render(request, "register_password.html", errors=errors)
    return redirect("/dang-ky/thanh-cong")


@router.get("/thanh-cong", response_class=HTMLResponse)
async def completed(request: Request, flow: RegistrationFlow, rpc: Rpc) -> Response:
    view = await _read(rpc, flow, wait=True)
    if view.status == "creating_account":
        # Committed, and profile still a moment behind after the bounded wait (issue 12):
        # "success" only once the account logs in, so this page asks to check again.
        return render(request, "register_creating.html")
    if (elsewhere := _step_elsewhere(view, "completed")) is not None:
        return elsewhere
    id_number = view.identity.id_number if view.identity is not None else None
    # Citizens registered by SMS log in with their ID number: the page says it.
    response = render(request, "register_done.html", level=view.level, method=view.method,
                      username=id_number if view.method in ("mobile", "bhxh") else None)
    forget_flow(request, response, "registration")  # done: the flow's token has served
    return response


# Declared last: ``/dang-ky/otp`` and the other steps are not subject types.
@router.get("/{slug}", response_class=HTMLResponse)
async def choose_method(request: Request, slug: str) -> HTMLResponse:
    subject = SUBJECTS.get(slug)
    if subject is None:
        raise PageProblem(404, "Không tìm thấy trang", "Đối tượng đăng ký này không có.",
                          link="/dang-ky", link_text="Chọn đối tượng đăng ký")
    return render(request, "register_method.html", subject=subject, methods=METHODS)


async def _read(rpc: Rpc, flow: WebFlow, *, wait: bool = False) -> REG.RegistrationView:
    # ``wait`` set only when asked (an unset field stays off the wire).
    read = (REG.ReadRegistration(id=flow.id, flow_token=flow.token, wait=True) if wait
            else REG.ReadRegistration(id=flow.id, flow_token=flow.token))
    try:
        return await rpc.ask(REG.GET, read)
    except (RemoteError, ServiceUnavailable) as exc:
        raise page_problem_of(exc, "registration") from exc


def flow_ref(flow: WebFlow) -> FlowRef:
    """The registration flow this browser holds (its cookie), as the service names it."""
    return FlowRef(id=flow.id, flow_token=flow.token)


def _refused(request: Request, exc: RemoteError | ServiceUnavailable, flow: WebFlow) -> Response:
    errors = FormErrors.of(exc, ("code",))
    if errors.code in FLOW_GONE_CODES:
        raise flow_gone("registration") from exc
    return show_refusal(request, OTP_SCREEN, flow, errors)


def _step_elsewhere(view: REG.RegistrationView, expected: str) -> Response | None:
    """A redirect to the page of the flow's real step when it is not ``expected`` (a reload,
    the back button, a second tab); None when the flow is where this page expects."""
    status = view.status
    if status == expected:
        return None
    if status == "failed":
        raise PageProblem(400, "Đăng ký không thành công",
                          "Hồ sơ đăng ký này đã dừng lại và không thể tiếp tục. Vui lòng đăng ký "
                          "lại từ đầu.", link="/dang-ky", link_text="Đăng ký lại",
                          forget="registration")
    return redirect(STEP_PAGES.get(status, "/dang-ky"))
