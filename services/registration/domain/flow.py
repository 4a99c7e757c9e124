"""The one registration flow: every method's flow is a ``RegistrationFlow``, its states and the
rules on moving between them (issue 16: one flow per kind, a strategy per method).

Each method walks its own path through the states (``domain/methods/<name>.py`` says which):

    mobile, bhxh   otp_sent ──(OTP verified)──▶ awaiting_password ──(password set)──▶ completed
    usb, sim       awaiting_signature ──(certificate + signature valid)──▶ awaiting_confirmation
                       ──(confirm, e-mail)──▶ completed
    post_office    otp_sent ──(the code read back to the agent)──▶ completed
    any unfinished ──▶ failed (code: account_exists, otp_attempts_exceeded, sim_rejected, …)
    any unfinished ──(its lifetime without completion)──▶ failed (code flow_expired)

A flow lives 30 minutes from its start (a counter flow 15); an expired flow answers
``flow_expired``. The expiry sweeper (``services/registration/expiry.py``) moves it to
``failed`` and announces RegistrationFailed; until it has, the expiry time alone already
refuses every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.registration.domain.errors import FlowExpired, FlowState
from services.registration.domain.identity import Identity
from services.registration.domain.model import rfc3339
from services.registration.domain.signature import (
    SIGNATURE_METHODS,
    CertificateBinding,
    CertifiedIdentity,
)
from shared.events.schemas import SubjectType
from shared.phones import mask_phone


class Status(StrEnum):
    OTP_SENT = "otp_sent"
    AWAITING_PASSWORD = "awaiting_password"
    AWAITING_SIGNATURE = "awaiting_signature"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    COMPLETED = "completed"
    FAILED = "failed"


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED})
UNFINISHED = frozenset(Status) - TERMINAL
# The code of a flow failed for lapsing (FlowExpired.code, named here for the pure model).
FLOW_EXPIRED_CODE = "flow_expired"

_NEXT_STEP_HINT: dict[Status, str] = {
    Status.OTP_SENT: "Vui lòng nhập mã OTP đã gửi đến số điện thoại trước.",
    Status.AWAITING_PASSWORD: "Mã OTP đã được xác nhận; vui lòng đặt mật khẩu.",
    Status.AWAITING_SIGNATURE: "Vui lòng ký xác thực bằng chữ ký số trước.",
    Status.AWAITING_CONFIRMATION: "Chữ ký số đã được xác thực; vui lòng xác nhận thông tin để "
                                  "hoàn tất đăng ký.",
    Status.COMPLETED: "Đăng ký đã hoàn tất; vui lòng đăng nhập bằng số CCCD/CMND và mật khẩu.",
    Status.FAILED: "Phiên đăng ký này đã dừng; vui lòng đăng ký lại từ đầu.",
}
# An account made with a digital signature logs in with it, not with a password.
_SIGNED_IN_HINT = "Đăng ký đã hoàn tất; vui lòng đăng nhập bằng chữ ký số."

FlowIdentity = Identity | CertifiedIdentity


@dataclass(frozen=True)
class Agent:
    """Who registered the citizen at a counter, from the agent's session (given by the
    gateway): a counter flow is bound to its agent instead of a flow token."""

    account_id: str
    office: dict[str, str]  # {name, code?}

    def as_dict(self) -> dict[str, Any]:
        return {"agent_account_id": self.account_id, "office": dict(self.office)}


@dataclass
class RegistrationFlow:
    id: str
    method: str
    status: Status
    subject_type: SubjectType  # as the person chose it; a certificate must agree
    created_at: datetime
    expires_at: datetime
    # Only the keyed hash of the token the flow's owner holds; None for a counter flow.
    flow_token_hash: str | None = None
    # Declared and proven at the start (mobile, bhxh, post_office), or read from the
    # certificate at the signature step (usb, sim).
    identity: FlowIdentity | None = None
    phone: str | None = None  # E.164: where the code went, or the SIM's number
    email: str | None = None
    certificate: CertificateBinding | None = None
    agent: Agent | None = None
    account_id: str | None = None
    level: int | None = None
    code: str | None = None
    completed_at: datetime | None = None
    # VNeID's name of the person (method vneid, issue 15): linked to the account it makes.
    vneid_sub: str | None = None
    # The W3C traceparent current at the start (opaque; None when tracing was off): every
    # later step is traced as part of the start's trace, so a registration is one trace.
    trace_context: str | None = None

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def answers_expired(self, now: datetime) -> bool:
        """Lapsed unfinished: past its expiry time, or already failed by the sweeper for it."""
        if self.status == Status.FAILED:
            return self.code == FLOW_EXPIRED_CODE
        return self.status not in TERMINAL and self.is_expired(now)

    def require(self, expected: Status, now: datetime) -> None:
        """Raises the error a caller gets when the flow is not at ``expected`` any more."""
        if self.status == expected and not self.is_expired(now):
            return
        if self.answers_expired(now):
            raise FlowExpired()
        if self.status == Status.COMPLETED and self.method in SIGNATURE_METHODS:
            raise FlowState(_SIGNED_IN_HINT)
        raise FlowState(_NEXT_STEP_HINT[self.status])

    def otp_step_done(self, now: datetime) -> bool:
        """The OTP step is behind the flow (and the flow not lapsed): a retried ``/otp``,
        whose first answer was lost, is told where the flow is (issue 12)."""
        return self.status in (Status.AWAITING_PASSWORD, Status.COMPLETED) and not (
            self.answers_expired(now))

    def declared_identity(self) -> Identity:
        """The identity the person declared and the start proved (mobile, bhxh, counter)."""
        assert isinstance(self.identity, Identity), "this flow's identity was declared"
        return self.identity

    def proven_phone(self) -> str:
        """The phone the code went to (mobile, bhxh, counter) or the SIM's number."""
        assert self.phone is not None, "this flow has a phone"
        return self.phone

    def completion(self) -> dict[str, Any]:
        """The completing step's answer, the same to a retry as to the first call."""
        return {"status": str(self.status), "account_id": self.account_id, "level": self.level}

    def view(self) -> dict[str, Any]:
        """What the flow's owner (holder of the flow token) may read back."""
        data: dict[str, Any] = {
            "id": self.id,
            "status": str(self.status),
            "method": self.method,
            "subject_type": self.subject_type,
        }
        if self.identity is not None:
            data["identity"] = self.identity.as_dict()
        if self.phone:
            data["phone_masked"] = mask_phone(self.phone)
        data["expires_at"] = rfc3339(self.expires_at)
        if self.certificate is not None:
            # Public facts of the certificate, for the confirmation page.
            data["certificate"] = {"serial": self.certificate.serial,
                                   "issuer": self.certificate.issuer,
                                   "not_after": self.certificate.not_after}
        if self.account_id:
            data["account_id"] = self.account_id
            data["level"] = self.level
        if self.code:
            data["code"] = self.code
        return data
