"""Registration with a USB token digital signature (USB ký số): citizens and enterprises,
level 3.

The person chooses their subject type and nothing else: the page asks pki (through this
service) for a fresh challenge, the local signing agent has the token sign it, and the
certificate, its chain and the signature come back to ``/signature``. Who the person is comes
from the certificate; they add an e-mail (required for enterprises) and confirm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.registration.domain.fields import FieldErrors
from services.registration.domain.methods.signing import subject_type
from services.registration.domain.signature import SIGNATURE_LEVEL, USB
from shared.events.schemas import SubjectType

METHOD = USB
LEVEL = SIGNATURE_LEVEL
# A PEM certificate with a few intermediates is a few kilobytes; a signature well under one.
MAX_CERTIFICATE_CHARS = 64_000
MAX_SIGNATURE_CHARS = 4_000


@dataclass(frozen=True)
class UsbApplication:
    subject_type: SubjectType


@dataclass(frozen=True)
class SignedChallenge:
    """What the token returned; its meaning is pki's to judge."""

    certificate: str
    chain: list[str] | str | None
    signature: str


def parse_application(payload: Mapping[str, Any]) -> UsbApplication:
    errors = FieldErrors()
    chosen = subject_type(errors, payload)
    errors.raise_if_any()
    assert chosen is not None
    return UsbApplication(subject_type=chosen)


def parse_signed_challenge(payload: Mapping[str, Any]) -> SignedChallenge:
    errors = FieldErrors()
    certificate = errors.required_text(payload, "certificate", "chứng thư số")
    signature = errors.required_text(payload, "signature", "chữ ký")
    if certificate and len(certificate) > MAX_CERTIFICATE_CHARS:
        errors.add("certificate", "Chứng thư số quá dài.")
    if signature and len(signature) > MAX_SIGNATURE_CHARS:
        errors.add("signature", "Chữ ký quá dài.")
    chain = payload.get("chain")
    if chain is not None and not (isinstance(chain, str) or (
            isinstance(chain, list) and all(isinstance(c, str) for c in chain))):
        errors.add("chain", "Chuỗi chứng thư phải là danh sách PEM hoặc một khối PEM.")
    elif chain is not None and sum(len(c) for c in ([chain] if isinstance(chain, str)
                                                      else chain)) > MAX_CERTIFICATE_CHARS:
        errors.add("chain", "Chuỗi chứng thư quá dài.")
    errors.raise_if_any()
    assert certificate and signature
    return SignedChallenge(certificate=certificate, chain=chain, signature=signature)
