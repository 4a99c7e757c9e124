"""Các phương thức xác thực → Thêm mới a Sim ký số or a USB ký số (``POST /me/auth-methods``
``{type: "sim", phone}`` / ``{type: "usb"}``), with the signing screens the registration and
the login use (``signing.py``) and the steps the step-up shares (``signature_steps.py``).

SIM: the waiting screen shows the verification code; the read of the flow that sees the
approval on the phone adds the method (``me_method_get``), whichever read that is (the
script's poll or the page's reload). USB: the local agent signs the challenge and the page
posts the signature here (``me_method_signature``). The flow lives in the ``method`` flow
cookie, as the SMS phone's does; the account becomes level 3 once the certificate is added.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.gateway.dependencies import Client, Rpc
from services.gateway.web.account import ask_as_owner
from services.gateway.web.account_methods import PAGE, _methods_page
from services.gateway.web.guards import CheckedForm, MethodFlow, PageProblem, step_up_redirect
from services.gateway.web.rendering import FormErrors, form_values
from services.gateway.web.security import WebFlow
from services.gateway.web.signature_steps import SignatureSteps
from services.gateway.web.signing import failed_detail
from shared.contracts import profile as PROFILE
from shared.contracts.fields import SignatureProof
from shared.rpc import RemoteError, ServiceUnavailable

router = APIRouter(prefix=PAGE, include_in_schema=False)

SIM_START = f"{PAGE}/them-sim"
SIM_WAITING = f"{PAGE}/sim-ky-so"
SIM_STATUS = f"{PAGE}/sim-ky-so/trang-thai"
USB_START = f"{PAGE}/them-usb"
USB_SIGN = f"{PAGE}/usb-ky-so"
ADDED = f"{PAGE}?tb=da-them"
# The SIM form's phone field, named apart from the SMS form's on the same page.
SIM_PHONE = "sim_phone"
WAITING_HEADING = "Xác nhận thêm Sim ký số trên điện thoại"


def _failed(code: str | None) -> PageProblem:
    detail = ("Chứng thư số này không phải của chủ tài khoản." if code == "forbidden"
              else failed_detail(code))
    return PageProblem(400, "Chưa thêm được phương thức xác thực", detail, link=PAGE,
                       link_text="Về trang phương thức xác thực", forget="method")


STEPS = SignatureSteps(kind="method", back=PAGE, sim_waiting=SIM_WAITING, sim_status=SIM_STATUS,
                       usb_sign=USB_SIGN, sim_heading=WAITING_HEADING,
                       usb_heading="Thêm USB ký số", done_url=lambda _flow: ADDED,
                       failed=_failed, may_need_step_up=True)


@router.post("/them-sim", response_class=HTMLResponse)
async def start_sim(request: Request, form: CheckedForm, rpc: Rpc, client: Client) -> Response:
    values, errors = form_values(form, (SIM_PHONE,))
    if not errors and not values.get(SIM_PHONE):
        errors = FormErrors.invalid({SIM_PHONE: "Vui lòng nhập số điện thoại có Sim ký số."})
    if errors:
        return await _methods_page(request, rpc, values=values, errors=errors)
    try:
        started = await ask_as_owner(request, rpc, PROFILE.ME_ADD_METHOD, type="sim",
                                     phone=values[SIM_PHONE], **client.as_payload())
    except (RemoteError, ServiceUnavailable) as exc:
        stepping_up = step_up_redirect(exc, PAGE)
        if stepping_up is not None:
            return stepping_up
        errors = FormErrors.of(exc, ("phone",))
        for detail in errors.fields.pop("phone", []):  # the service's name for the field
            errors.add(SIM_PHONE, detail)
        if errors.code in {"validation_error", "invalid_phone"} and not errors.fields \
                and errors.detail:
            errors.add(SIM_PHONE, errors.detail)
        return await _methods_page(request, rpc, values=values, errors=errors)
    return STEPS.begin(request, _flow(started, verification_code=started.verification_code),
                       SIM_WAITING)


@router.get("/sim-ky-so", response_class=HTMLResponse)
async def sim_waiting(request: Request, flow: MethodFlow, rpc: Rpc) -> Response:
    return await STEPS.show_sim(request, flow, lambda current: _read(request, rpc, current))


@router.get("/sim-ky-so/trang-thai")
async def sim_status(request: Request, rpc: Rpc) -> JSONResponse:
    """For the waiting screen's script; the read that sees the approval adds the method."""
    return await STEPS.poll_sim(request, lambda current: _read(request, rpc, current))


@router.post("/them-usb", response_class=HTMLResponse)
async def start_usb(request: Request, form: CheckedForm, rpc: Rpc, client: Client) -> Response:
    try:
        started = await ask_as_owner(request, rpc, PROFILE.ME_ADD_METHOD, type="usb",
                                     **client.as_payload())
    except (RemoteError, ServiceUnavailable) as exc:
        return step_up_redirect(exc, PAGE) or await _methods_page(
            request, rpc, errors=FormErrors.of(exc, ()))
    return STEPS.begin(request, _flow(started, challenge=started.challenge), USB_SIGN)


@router.get("/usb-ky-so", response_class=HTMLResponse)
async def usb_signing(request: Request, flow: MethodFlow) -> HTMLResponse:
    return STEPS.usb_page(request, flow)


@router.post("/usb-ky-so", response_class=HTMLResponse)
async def submit_usb_signature(request: Request, form: CheckedForm, flow: MethodFlow,
                               rpc: Rpc) -> Response:
    async def sign(proof: SignatureProof) -> PROFILE.AuthMethodView:
        return await ask_as_owner(request, rpc, PROFILE.ME_METHOD_SIGNATURE, id=flow.id,
                                  flow_token=flow.token, **proof.wire())

    return await STEPS.submit_usb(request, flow, form, sign)


def _flow(started: PROFILE.MethodFlowView, *, verification_code: str | None = None,
          challenge: str | None = None) -> WebFlow:
    return WebFlow("method", started.id, str(started.flow_token),
                   phone_masked=started.phone_masked, verification_code=verification_code,
                   challenge=challenge)


async def _read(request: Request, rpc: Rpc, flow: WebFlow) -> PROFILE.MethodFlowView:
    return await ask_as_owner(request, rpc, PROFILE.ME_METHOD_GET, id=flow.id,
                              flow_token=flow.token)
