"""What the digital-signature pages (Sim ký số, USB ký số) share, for registration and login.

SIM: a waiting screen shows the 4-digit verification code (the person checks it against the
phone before typing the PIN there). Without JavaScript its button "Tôi đã xác nhận trên điện
thoại" reloads the page, whose read asks the service; with JavaScript ``signature.js`` polls
the flow's small JSON status route and goes on by itself.

USB: the token sits in the person's computer, out of any server's reach, so the page's script
talks to the local signing agent ``dvcid signer`` (``DVCID_SIGNER_URL``, the pages' CSP lets
them connect to it): it checks the agent and the token, lists the certificates, asks the PIN
in the page and sends it ONLY to the agent (the PIN input has no name: it is never posted to
the portal), then posts the certificate, its chain and the signature to the portal's form,
whose handler calls the same RPC as the JSON API's ``/signature``. Without JavaScript the
page says that USB signing needs it and the agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse

from services.gateway.web.rendering import CONTENT_SECURITY_POLICY, FormErrors, render
from services.gateway.web.security import WebFlow
from shared.contracts.fields import Pem, SignatureValue, max_length

# A certificate, its chain and a signature are longer than ordinary form fields: the limits
# are the contracts' (the JSON API's too); the chain comes from the form as one PEM block.
MAX_PEM_LENGTH = max_length(Pem)
MAX_SIGNATURE_LENGTH = max_length(SignatureValue)
# How often the waiting screen's script asks (the service asks the SIM provider each time).
POLL_SECONDS = 1.5
# Why a signature flow ended, as the pages say it (the read of a failed flow carries a code).
FAILED_DETAIL = {
    "sim_rejected": "Yêu cầu ký đã bị từ chối trên điện thoại, hoặc số điện thoại này chưa có "
                    "Sim ký số.",
    "sim_timeout": "Đã hết thời gian chờ xác nhận trên điện thoại.",
    "certificate_not_registered": "Chứng thư số này chưa gắn với tài khoản nào. Vui lòng đăng ký "
                                  "tài khoản trước.",
    "account_exists": "Đã có tài khoản với giấy tờ định danh trong chứng thư số này.",
    "certificate_revoked": "Chứng thư số đã bị thu hồi.",
    "certificate_expired": "Chứng thư số đã hết hạn hoặc chưa có hiệu lực.",
    "certificate_untrusted": "Chứng thư số không do tổ chức cung cấp dịch vụ chứng thực được "
                             "công nhận cấp.",
    "flow_expired": "Phiên giao dịch đã hết hạn.",
    "validation_error": "Chứng thư số không đúng loại đối tượng đã chọn.",
}
DEFAULT_FAILED_DETAIL = "Ký số không thành công."


def failed_detail(code: Any) -> str:
    return FAILED_DETAIL.get(str(code or ""), DEFAULT_FAILED_DETAIL)


def signer_origin(request: Request) -> str:
    url = urlsplit(str(request.app.state.settings.signer_url))
    return f"{url.scheme}://{url.netloc}"


def allow_signer(request: Request, response: HTMLResponse) -> HTMLResponse:
    """The page's script may connect to the local signing agent (and to us)."""
    response.headers["Content-Security-Policy"] = (
        f"{CONTENT_SECURITY_POLICY}; connect-src 'self' {signer_origin(request)}")
    return response


def show_usb_signing(request: Request, flow: WebFlow, action: str, *, heading: str,
                     back: str, errors: FormErrors | None = None) -> HTMLResponse:
    response = render(request, "usb_sign.html", heading=heading, action=action, back=back,
                      challenge=flow.challenge or "", signer_url=signer_origin(request),
                      errors=errors)
    return allow_signer(request, response)


def show_sim_waiting(request: Request, flow: WebFlow, *, heading: str, action: str,
                     status_url: str, back: str, errors: FormErrors | None = None) -> HTMLResponse:
    return render(request, "sim_waiting.html", heading=heading, action=action,
                  status_url=status_url, back=back, code=flow.verification_code,
                  phone_masked=flow.phone_masked, poll_ms=int(POLL_SECONDS * 1000),
                  errors=errors)


def signed_payload(form: Mapping[str, Any]) -> tuple[dict[str, Any], FormErrors]:
    """``{certificate, chain?, signature}`` from the form the USB page's script submits."""
    def text(name: str, limit: int) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) and len(value) <= limit else ""

    certificate = text("certificate", MAX_PEM_LENGTH)
    signature = text("signature", MAX_SIGNATURE_LENGTH)
    chain = text("chain", MAX_PEM_LENGTH)
    if not certificate or not signature:
        return {}, FormErrors.invalid({"certificate": "Chưa có chữ ký số: vui lòng chọn chứng "
                                                      "thư số, nhập mã PIN và ký."})
    payload: dict[str, Any] = {"certificate": certificate, "signature": signature}
    if chain:
        payload["chain"] = chain
    return payload, FormErrors()


def poll_answer(status: str, next_url: str | None = None) -> JSONResponse:
    """The waiting screen's script's answer: go on to ``next`` once the flow moved."""
    body: dict[str, Any] = {"status": status}
    if next_url:
        body["next"] = next_url
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
