"""The OTP screen shared by every flow that confirms a phone (registration, login, forgotten
password, the account pages, the post-office counter): one component (issue 17) with where
the person is (the step), the code form, how long the code lives, "Gửi lại OTP" and the wait
before a new code may be asked for, and the flow's own options below them
(``OtpScreen.options``).

A code of the wrong length is told as such here and costs no attempt. otp allows a number of
wrong codes per flow; the flow cookie counts the wrong codes this browser typed, so the last
one leads straight to the page that ends the flow (no reload needed), as does the service's
``otp_attempts_exceeded``. The digits, the code's life, the resend wait and the attempts are
otp's (``otp_timing.py``): the screen only shows them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from services.gateway.web.guards import PageProblem
from services.gateway.web.otp_timing import OtpTiming, otp_timing
from services.gateway.web.rendering import FormErrors, render, seconds_until
from services.gateway.web.security import WebFlow, remember_flow

# The service's word that the flow's code is locked: no code will ever be accepted again.
LOCKED_CODE = "otp_attempts_exceeded"


@dataclass(frozen=True)
class OtpEnd:
    """The page after the last wrong code: the flow cannot go on; where to start again."""

    title: str
    message: str
    link: str
    link_text: str


@dataclass(frozen=True)
class OtpScreen:
    heading: str
    action: str  # the code form
    resend_action: str | None  # "Gửi lại OTP"; None: the flow is started again instead
    back: str  # where "Quay lại" leads
    back_text: str
    options: str | None = None  # a template of the flow's options, shown under the forms
    step: str | None = None  # "Bước 2/3: Xác nhận số điện thoại", on multi-step flows
    ended: OtpEnd | None = None  # the page after the last wrong code (None: the form again)
    # The words of a screen that is not the citizen's own phone (the post-office counter,
    # where the agent types the code the citizen reads out) and its template (otp.html's).
    template: str = "otp.html"
    code_label: str = "Mã OTP"
    code_autocomplete: str = "one-time-code"
    submit_text: str = "Xác nhận"
    resend_text: str = "Gửi lại OTP"


RESENT_NOTICE = "Mã OTP mới đã được gửi. Mã cũ không còn dùng được."


def typed_code(request: Request, form: Mapping[str, Any]) -> tuple[str, FormErrors | None]:
    """The code as typed, spaces left out; or why it cannot be a code (no attempt spent)."""
    digits = otp_timing(request).code_digits
    raw = form.get("code")
    code = "".join(raw.split()) if isinstance(raw, str) else ""
    if not code:
        problem = "Vui lòng nhập mã OTP."
    elif not (code.isascii() and code.isdigit()):
        problem = (f"Mã OTP chỉ gồm {digits} chữ số (0–9)." if digits
                   else "Mã OTP chỉ gồm các chữ số (0–9).")
    elif digits is not None and len(code) != digits:
        problem = f"Mã OTP gồm {digits} chữ số; bạn đã nhập {len(code)} chữ số."
    else:
        return code, None
    return code, FormErrors.invalid({"code": problem})


def show_otp(request: Request, screen: OtpScreen, flow: WebFlow, *,
             errors: FormErrors | None = None, notice: str | None = None,
             **options: Any) -> HTMLResponse:
    """The screen; when the service said to wait (``retry_after``), the flow cookie learns
    the new time so a reload still counts down."""
    if flow.code_expires_at is None and flow.resend_available_at:
        flow = replace(flow, code_expires_at=_code_expiry(otp_timing(request),
                                                          flow.resend_available_at))
        changed = True
    else:
        changed = False
    if errors is not None and errors.retry_after is not None:
        available = datetime.now(UTC) + timedelta(seconds=errors.retry_after)
        flow = replace(flow, resend_available_at=available.isoformat())
        changed = True
    response = _render(request, screen, flow, errors, notice, options)
    if changed:
        remember_flow(request, response, flow)
    return response


def show_refusal(request: Request, screen: OtpScreen, flow: WebFlow,
                 errors: FormErrors, **options: Any) -> HTMLResponse:
    """A refused code: the screen again with the reason beside the code, or, after the last
    allowed wrong code, the page that ends the flow (``screen.ended``)."""
    if errors.code == "otp_invalid":
        flow = replace(flow, wrong_codes=flow.wrong_codes + 1)
    attempts = otp_timing(request).max_attempts
    if screen.ended is not None and (errors.code == LOCKED_CODE or (
            attempts is not None and flow.wrong_codes >= attempts)):
        end = screen.ended
        raise PageProblem(400, end.title, end.message, link=end.link, link_text=end.link_text,
                          forget=flow.kind)
    response = show_otp(request, screen, flow, errors=errors, **options)
    remember_flow(request, response, flow)  # the count survives a reload
    return response


def new_code_sent(request: Request, flow: WebFlow, resend_available_at: Any) -> WebFlow:
    """The flow after a new code went out: its own lifetime and resend wait."""
    available = str(resend_available_at) if resend_available_at else None
    return replace(flow, resend_available_at=available,
                   code_expires_at=_code_expiry(otp_timing(request), available)
                   if available else None)


def _code_expiry(timing: OtpTiming, resend_available_at: str) -> str | None:
    """When the code sent with this resend time expires (sent + its life = resend time +
    life - resend interval); unknown while otp's timing is."""
    if timing.code_lifetime is None or timing.resend_interval is None:
        return None
    try:
        available = datetime.fromisoformat(resend_available_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (available - timing.resend_interval + timing.code_lifetime).isoformat()


def _render(request: Request, screen: OtpScreen, flow: WebFlow, errors: FormErrors | None,
            notice: str | None, options: dict[str, Any]) -> HTMLResponse:
    return render(request, screen.template, screen=screen, phone_masked=flow.phone_masked,
                  wait_seconds=seconds_until(flow.resend_available_at),
                  expires_seconds=seconds_until(flow.code_expires_at)
                  if flow.code_expires_at else None,
                  code_digits=otp_timing(request).code_digits, errors=errors, notice=notice,
                  alternatives=flow.alternatives, **options)
