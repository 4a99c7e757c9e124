"""Registration with a digital signature (USB token or SIM): the flow, its states and rules.

    awaiting_signature ──(certificate + signature valid)──▶ awaiting_confirmation
        ──(confirm, e-mail)──▶ completed (level 3)
    any unfinished ──▶ failed (code: account_exists, sim_rejected, sim_timeout, flow_expired, …)

Who the person is comes from the certificate (pki reads it from the subject): ID number and
name for a citizen, tax code (MST) and name for an enterprise; the person adds an e-mail
(required for enterprises) and confirms. Proof is the signature over a fresh challenge of pki
(USB) or the SIM owner's approval on the phone (SIM); either way pki validates the chain, the
validity window, the key usage and revocation before anything reaches this flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from services.registration.domain.errors import (
    AccountExists,
    FlowExpired,
    FlowState,
    ValidationFailed,
)
from services.registration.domain.identity_keys import identity_key
from services.registration.domain.model import FLOW_EXPIRED_CODE, rfc3339
from shared.events.schemas import SubjectType
from shared.phones import mask_phone

SIGNATURE_LEVEL: Final = 3
USB: Final = "usb"
SIM: Final = "sim"
SIGNATURE_METHODS = frozenset({USB, SIM})
PKI_PURPOSE: Final = "registration"
# pki's refusals after which a SIM flow can never finish (the session on the phone is over).
SIM_ENDING_CODES = frozenset({
    "sim_rejected", "sim_timeout", "certificate_untrusted", "certificate_expired",
    "certificate_revoked", "certificate_not_for_signing", "signature_invalid",
})
_SUBJECT_LABEL = {"citizen": "Công dân", "enterprise": "Doanh nghiệp"}


class SignatureStatus(StrEnum):
    AWAITING_SIGNATURE = "awaiting_signature"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    COMPLETED = "completed"
    FAILED = "failed"


TERMINAL = frozenset({SignatureStatus.COMPLETED, SignatureStatus.FAILED})
UNFINISHED = frozenset(SignatureStatus) - TERMINAL

_NEXT_STEP_HINT: dict[SignatureStatus, str] = {
    SignatureStatus.AWAITING_SIGNATURE: "Vui lòng ký xác thực bằng chữ ký số trước.",
    SignatureStatus.AWAITING_CONFIRMATION: "Chữ ký số đã được xác thực; vui lòng xác nhận "
                                           "thông tin để hoàn tất đăng ký.",
    SignatureStatus.COMPLETED: "Đăng ký đã hoàn tất; vui lòng đăng nhập bằng chữ ký số.",
    SignatureStatus.FAILED: "Phiên đăng ký này đã dừng; vui lòng đăng ký lại từ đầu.",
}


@dataclass(frozen=True)
class CertifiedIdentity:
    """Who the certificate names (pki's ``identity``): for an enterprise id_number is the tax
    code."""

    id_type: str  # CCCD, CMND, HC or MST
    id_number: str
    full_name: str
    tax_code: str | None = None

    @property
    def key(self) -> str:
        return identity_key(self.id_type, self.id_number)

    def as_dict(self) -> dict[str, str]:
        data = {"id_type": self.id_type, "id_number": self.id_number,
                "full_name": self.full_name}
        if self.tax_code:
            data["tax_code"] = self.tax_code
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CertifiedIdentity:
        return cls(id_type=str(data.get("id_type", "")), id_number=str(data["id_number"]),
                   full_name=str(data["full_name"]), tax_code=data.get("tax_code") or None)


@dataclass(frozen=True)
class CertificateBinding:
    """The certificate an account will be bound to (the login looks it up by fingerprint)."""

    fingerprint_sha256: str
    serial: str
    issuer: str
    not_after: str | None

    def as_dict(self) -> dict[str, str]:
        data = {"fingerprint_sha256": self.fingerprint_sha256, "serial": self.serial,
                "issuer": self.issuer}
        if self.not_after:
            data["not_after"] = self.not_after
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CertificateBinding:
        return cls(fingerprint_sha256=str(data["fingerprint_sha256"]),
                   serial=str(data["serial"]), issuer=str(data["issuer"]),
                   not_after=data.get("not_after") or None)


@dataclass(frozen=True)
class CertificateProof:
    """What pki vouches for after a valid signature: who, and with which certificate."""

    subject_type: SubjectType
    identity: CertifiedIdentity
    certificate: CertificateBinding

    @classmethod
    def from_pki(cls, result: Mapping[str, Any]) -> CertificateProof:
        """From pki's ``verify_signature`` / completed ``sim_status`` answer (or the facts of
        CertificateValidated)."""
        return cls(subject_type=result["subject_type"],
                   identity=CertifiedIdentity.from_dict(result["identity"]),
                   certificate=CertificateBinding.from_dict(result))


@dataclass
class SignatureRegistration:
    id: str
    status: SignatureStatus
    method: str  # usb or sim
    subject_type: SubjectType  # as the person chose it; the certificate must agree
    flow_token_hash: str
    created_at: datetime
    expires_at: datetime
    phone: str | None = None  # E.164, the SIM's number (sim)
    identity: CertifiedIdentity | None = None
    certificate: CertificateBinding | None = None
    email: str | None = None
    account_id: str | None = None
    level: int | None = None
    code: str | None = None
    completed_at: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def answers_expired(self, now: datetime) -> bool:
        if self.status == SignatureStatus.FAILED:
            return self.code == FLOW_EXPIRED_CODE
        return self.status not in TERMINAL and self.is_expired(now)

    def require(self, expected: SignatureStatus, now: datetime) -> None:
        if self.status == expected and not self.is_expired(now):
            return
        if self.answers_expired(now):
            raise FlowExpired()
        raise FlowState(_NEXT_STEP_HINT[self.status])

    def require_method(self, method: str) -> None:
        if self.method != method:
            raise FlowState("Bước này không dùng cho phương thức đăng ký của hồ sơ này.")

    def completion(self) -> dict[str, Any]:
        """The confirm step's answer, the same to a retry as to the first call (issue 12)."""
        return {"status": str(self.status), "account_id": self.account_id, "level": self.level}

    def view(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "status": str(self.status),
            "method": self.method,
            "subject_type": self.subject_type,
            "expires_at": rfc3339(self.expires_at),
        }
        if self.phone:
            data["phone_masked"] = mask_phone(self.phone)
        if self.identity is not None:
            data["identity"] = self.identity.as_dict()
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


def check_proof(registration: SignatureRegistration, proof: CertificateProof,
                duplicate: bool) -> None:
    """The proven certificate may carry this registration on, or the error that ends it: the
    certificate must be of the subject type the person chose, and its ID number (citizen) or
    tax code (enterprise) must not have an account yet."""
    if proof.subject_type != registration.subject_type:
        chosen = _SUBJECT_LABEL.get(registration.subject_type, registration.subject_type)
        actual = _SUBJECT_LABEL.get(proof.subject_type, proof.subject_type)
        detail = (f"Chứng thư số này cấp cho {actual}, không phải {chosen}. Vui lòng đăng ký "
                  f"lại và chọn đối tượng {actual}.")
        raise ValidationFailed([{"name": "subject_type", "detail": detail}], detail=detail)
    if duplicate:
        if proof.subject_type == "enterprise":
            raise AccountExists(
                "Mã số thuế này đã có tài khoản trên Cổng Dịch vụ công Quốc gia. Nếu đó là tài "
                "khoản của doanh nghiệp bạn, hãy đăng nhập bằng chữ ký số; nếu không, hãy gửi "
                "phản ánh, khiếu nại.")
        raise AccountExists()


def proof_changes(proof: CertificateProof) -> dict[str, Any]:
    """The fields the move to awaiting_confirmation sets."""
    return {"identity": proof.identity, "certificate": proof.certificate}
