"""The pki service's endpoints (``dvcid.pki.<endpoint>``): signature challenges, certificate +
signature validation (USB token) and SIM signature sessions.

Shapes and bounds only: whether a text is a certificate, whose identity it names, whether it is
trusted, valid and unrevoked, and how long a poll may wait, are pki's (``services/pki/domain``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from shared.contracts.base import Contract, Empty, Rpc
from shared.contracts.fields import E164Phone, FlowId, Pem, PemChain, SignatureValue, SubjectType

PkiPurpose = Literal["registration", "login", "password_reset", "add_method", "reauthentication"]
Timestamp = str  # RFC 3339 (UTC, "Z"), as pki writes it


class SignatureFlow(Contract):
    """The caller's flow a challenge (and its answer) is bound to."""

    flow_id: FlowId
    purpose: PkiPurpose


class VerifySignature(SignatureFlow):
    """What the USB token returned: its certificate (PEM or base64 DER), optional
    intermediates (a list, or one text of PEM blocks) and the signature over the challenge."""

    certificate: Pem
    chain: PemChain | Pem | None = None
    signature: SignatureValue


class StartSim(SignatureFlow):
    phone: E164Phone


class SimStatus(SignatureFlow):
    # How long the poll may wait for the provider's answer (pki caps it).
    wait_seconds: Annotated[float, Field(ge=0, strict=True, allow_inf_nan=False)] = 0


class PkiStatus(Contract):
    trust_anchors: int
    intermediates: int


class SignatureChallenge(Contract):
    challenge: str  # base64 of the message the token signs
    expires_at: Timestamp


class CertifiedIdentity(Contract):
    id_type: str  # CCCD, CMND, HC or MST
    id_number: str
    full_name: str
    tax_code: str | None = None  # an enterprise's: its tax code again


class ValidatedCertificate(Contract):
    """An accepted certificate and signature: who it names and which certificate it was."""

    identity: CertifiedIdentity
    subject_type: SubjectType
    fingerprint_sha256: str
    serial: str
    issuer: str
    not_after: Timestamp
    level: int


class SimStarted(Contract):
    # The control code the phone shows too, so the person approves the right request.
    verification_code: str
    expires_at: Timestamp
    status: Literal["pending"]


class SimState(Contract):
    """``pending``, or ``completed`` with the fields of :class:`ValidatedCertificate`; a refused
    session answers its refusal as an error, on every poll."""

    status: Literal["pending", "completed"]
    identity: CertifiedIdentity | None = None
    subject_type: SubjectType | None = None
    fingerprint_sha256: str | None = None
    serial: str | None = None
    issuer: str | None = None
    not_after: Timestamp | None = None
    level: int | None = None


STATUS = Rpc("pki", "status", Empty, PkiStatus)
CHALLENGE = Rpc("pki", "challenge", SignatureFlow, SignatureChallenge)
VERIFY_SIGNATURE = Rpc("pki", "verify_signature", VerifySignature, ValidatedCertificate)
SIM_START = Rpc("pki", "sim_start", StartSim, SimStarted)
SIM_STATUS = Rpc("pki", "sim_status", SimStatus, SimState)
