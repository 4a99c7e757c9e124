"""Đăng ký: subject type, then method, then the method's form and its steps.

Each step calls the registration service exactly as the JSON API does (the same RPC
endpoints, the same payloads); this module only turns forms into payloads and answers into
pages. A method whose flow is not built yet is listed as "Sắp ra mắt" until its page exists:
give its ``Method`` a ``path`` and add its routes (a module of its own, like this one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

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
from shared.rpc import RemoteError, ServiceUnavailable

SERVICE = "registration"
router = APIRouter(prefix="/dang-ky", include_in_schema=False)


@dataclass(frozen=True)
class Subject:
    slug: str
    api_name: str  # subject_type of the API
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
    values, shown, errors, born = form_with_date(form, MOBILE_FIELDS)
    if errors:
        return render(request, "register_mobile.html", values=shown, errors=errors)
    try:
        started: dict[str, Any] = await rpc.call(
            SERVICE, "start", {"subject_type": "citizen", "method": "mobile"} | values)
    except (RemoteError, ServiceUnavailable) as exc:
        refusal = with_date_errors(FormErrors.of(exc, MOBILE_FIELDS), born, "birth_date",
                                   MOBILE_FIELDS)
        return render(request, "register_mobile.html", values=shown, errors=refusal)
    flow = WebFlow("registration", str(started["id"]), str(started["flow_token"]),
                   phone_masked=started.get("phone_masked"),
                   resend_available_at=started.get("resend_available_at"))
    response = redirect(STEP_PAGES.get(str(started.get("status")), "/dang-ky/otp"))
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
    code, problem = typed_code(form)
    if problem is not None:  # told at once, no attempt spent
        return show_otp(request, OTP_SCREEN, flow, errors=problem)
    try:
        await rpc.call(SERVICE, "submit_otp", _flow_payload(flow) | {"code": code[:16]})
    except (RemoteError, ServiceUnavailable) as exc:
        return _refused(request, exc, flow)
    return redirect("/dang-ky/mat-khau")


@router.post("/otp/gui-lai", response_class=HTMLResponse)
async def resend_otp(request: Request, form: CheckedForm, flow: RegistrationFlow,
                     rpc: Rpc) -> Response:
    try:
        resent: dict[str, Any] = await rpc.call(SERVICE, "resend_otp", _flow_payload(flow))
    except (RemoteError, ServiceUnavailable) as exc:
        return _refused(request, exc, flow)
    flow = new_code_sent(flow, resent.get("resend_available_at"))
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
    password = form.get("password")
    confirmation = form.get("password_confirmation")
    payload = {"password": password if isinstance(password, str) else "",
               "password_confirmation": confirmation if isinstance(confirmation, str) else ""}
    if len(payload["password"]) > 256 or len(payload["password_confirmation"]) > 256:
        return render(request, "register_password.html", errors=FormErrors.invalid(
            {"password": "Mật khẩu quá dài."}))
    try:
        await rpc.call(SERVICE, "set_password", _flow_payload(flow) | payload)
    except (RemoteError, ServiceUnavailable) as exc:
        errors = FormErrors.of(exc, ("password", "password_confirmation"))
        if errors.code in FLOW_GONE_CODES:
            raise flow_gone("registration") from exc
        return render(request, "register_password.html", errors=errors)
    return redirect("/dang-ky/thanh-cong")


@router.get("/thanh-cong", response_class=HTMLResponse)
async def completed(request: Request, flow: RegistrationFlow, rpc: Rpc) -> Response:
    view = await _read(rpc, flow, wait=True)
    if view.get("status") == "creating_account":
        # Committed, and profile still a moment behind after the bounded wait (issue 12):
        # "success" only once the account logs in, so this page asks to check again.
        return render(request, "register_creating.html")
    if (elsewhere := _step_elsewhere(view, "completed")) is not None:
        return elsewhere
    identity = view.get("identity")
    id_number = identity.get("id_number") if isinstance(identity, dict) else None
    # Citizens registered by SMS log in with their ID number: the page says it.
    response = render(request, "register_done.html", level=view.get("level"),
                      method=view.get("method"),
                      username=id_number if view.get("method") in ("mobile", "bhxh") else None)
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


async def _read(rpc: Rpc, flow: WebFlow, *, wait: bool = False) -> dict[str, Any]:
    payload: dict[str, Any] = _flow_payload(flow) | ({"wait": True} if wait else {})
    try:
        view: dict[str, Any] = await rpc.call(SERVICE, "get", payload)
    except (RemoteError, ServiceUnavailable) as exc:
        raise page_problem_of(exc, "registration") from exc
    return view


def _flow_payload(flow: WebFlow) -> dict[str, str]:
    return {"id": flow.id, "flow_token": flow.token}


def _refused(request: Request, exc: RemoteError | ServiceUnavailable, flow: WebFlow) -> Response:
    errors = FormErrors.of(exc, ("code",))
    if errors.code in FLOW_GONE_CODES:
        raise flow_gone("registration") from exc
    return show_refusal(request, OTP_SCREEN, flow, errors)


def _step_elsewhere(view: dict[str, Any], expected: str) -> Response | None:
    """A redirect to the page of the flow's real step when it is not ``expected`` (a reload,
    the back button, a second tab); None when the flow is where this page expects."""
    status = str(view.get("status"))
    if status == expected:
        return None
    if status == "failed":
        raise PageProblem(400, "Đăng ký không thành công",
                          "Hồ sơ đăng ký này đã dừng lại và không thể tiếp tục. Vui lòng đăng ký "
                          "lại từ đầu.", link="/dang-ky", link_text="Đăng ký lại",
                          forget="registration")
    return redirect(STEP_PAGES.get(status, "/dang-ky"))
