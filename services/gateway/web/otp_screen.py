"""The OTP screen shared by every flow that confirms a phone (registration, login, forgotten
password): the code form, "Gửi lại OTP" and the wait before a new code may be asked for, and
the flow's own options below them (``OtpScreen.options``, e.g. the login's other phones)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from services.gateway.web.rendering import FormErrors, render, seconds_until
from services.gateway.web.security import WebFlow, remember_flow


@dataclass(frozen=True)
class OtpScreen:
    heading: str
    action: str  # the code form
    resend_action: str | None  # "Gửi lại OTP"; None: the flow is started again instead
    back: str  # where "Quay lại" leads
    back_text: str
    options: str | None = None  # a template of the flow's options, shown under the forms


RESENT_NOTICE = "Mã OTP mới đã được gửi. Mã cũ không còn dùng được."


def show_otp(request: Request, screen: OtpScreen, flow: WebFlow, *,
             errors: FormErrors | None = None, notice: str | None = None,
             **options: Any) -> HTMLResponse:
    """The screen; when the service said to wait (``retry_after``), the flow cookie learns
    the new time so a reload still counts down."""
    if errors is not None and errors.retry_after is not None:
        available = datetime.now(UTC) + timedelta(seconds=errors.retry_after)
        flow = replace(flow, resend_available_at=available.isoformat())
        response = _render(request, screen, flow, errors, notice, options)
        remember_flow(request, response, flow)
        return response
    return _render(request, screen, flow, errors, notice, options)


def _render(request: Request, screen: OtpScreen, flow: WebFlow, errors: FormErrors | None,
            notice: str | None, options: dict[str, Any]) -> HTMLResponse:
    return render(request, "otp.html", screen=screen, phone_masked=flow.phone_masked,
                  wait_seconds=seconds_until(flow.resend_available_at), errors=errors,
                  notice=notice, alternatives=flow.alternatives, **options)
