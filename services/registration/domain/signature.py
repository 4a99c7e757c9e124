"""Registration with a digital signature (USB token or SIM): the proof and its rules.

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
from typing import Any, Final

from services.registration.domain.errors import AccountExists, ValidationFailed
from services.registration.domain.identity_keys import identity_key
from shared.events.schemas import SubjectType

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


def check_proof(chosen_subject: SubjectType, proof: CertificateProof, duplicate: bool) -> None:
    """The proven certificate may carry this registration on, or the error that ends it: the
    certificate must be of the subject type the person chose, and its ID number (citizen) or
    tax code (enterprise) must not have an account yet."""
    if proof.subject_type != chosen_subject:
        chosen = _SUBJECT_LABEL.get(chosen_subject, chosen_subject)
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
