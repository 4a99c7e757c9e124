"""What pki reads from a request beyond its contract's shape (``shared/contracts/pki.py``):
the certificates and the signature as objects, the poll's wait under pki's cap. Checked at the
edge: a bad input changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from services.pki.domain.certificates import parse_certificate, parse_chain, parse_signature
from shared.contracts.pki import SignatureFlow, SimStatus, VerifySignature

# A poll waits at most this long for the provider, whatever the caller asked.
MAX_WAIT_SECONDS = 8.0


@dataclass(frozen=True)
class FlowRef:
    """The caller's flow a challenge or a SIM session is bound to."""

    flow_id: str
    purpose: str

    @classmethod
    def of(cls, request: SignatureFlow) -> FlowRef:
        return cls(flow_id=request.flow_id, purpose=request.purpose)


@dataclass(frozen=True)
class SignedChallenge:
    """``verify_signature``: what the USB token returned, read (PEM or base64 DER)."""

    flow: FlowRef
    certificate: x509.Certificate
    chain: list[x509.Certificate]
    signature: bytes

    @classmethod
    def of(cls, request: VerifySignature) -> SignedChallenge:
        return cls(flow=FlowRef.of(request), certificate=parse_certificate(request.certificate),
                   chain=parse_chain(request.chain),
                   signature=parse_signature(request.signature))


def wait_seconds(request: SimStatus) -> float:
    return min(request.wait_seconds, MAX_WAIT_SECONDS)
