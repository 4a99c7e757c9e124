"""Registration with a USB token digital signature (USB ký số): citizens and enterprises,
level 3.

The person chooses their subject type and nothing else: the page asks pki (through this
service) for a fresh challenge, the local signing agent has the token sign it, and the
certificate, its chain and the signature come back to ``/signature``. Who the person is comes
from the certificate; they add an e-mail (required for enterprises) and confirm.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.registration.domain.fields import FieldErrors
from services.registration.domain.signature import SIGNATURE_LEVEL, USB
from shared.contracts.registration import SubmitSignature, UsbStart
from shared.events.schemas import SubjectType

METHOD = USB
LEVEL = SIGNATURE_LEVEL
# A PEM certificate with a few intermediates is a few kilobytes: the whole chain is bounded
# as one certificate is (each of its parts is bounded by the contract, shared/contracts).
MAX_CHAIN_CHARS = 64_000


@dataclass(frozen=True)
class UsbApplication:
    subject_type: SubjectType


@dataclass(frozen=True)
class SignedChallenge:
    """What the token returned; its meaning is pki's to judge."""

    certificate: str
    chain: list[str] | str | None
    signature: str


def parse_application(request: UsbStart) -> UsbApplication:
    return UsbApplication(subject_type=request.subject_type)


def parse_signed_challenge(request: SubmitSignature) -> SignedChallenge:
    errors = FieldErrors()
    certificate = errors.required_text(request.certificate, "certificate", "chứng thư số")
    signature = errors.required_text(request.signature, "signature", "chữ ký")
    chain = request.chain
    if chain is not None and sum(len(c) for c in ([chain] if isinstance(chain, str)
                                                  else chain)) > MAX_CHAIN_CHARS:
        errors.add("chain", "Chuỗi chứng thư quá dài.")
    errors.raise_if_any()
    assert certificate and signature
    return SignedChallenge(certificate=certificate, chain=chain, signature=signature)
