"""Login with a digital signature (USB token, SIM): the flow, its rules and the ports it needs.

    start ──▶ awaiting_signature ──(pki: valid certificate + signature, account found)──▶ completed
                      └──(SIM rejected / timed out, or no account for the certificate)──▶ failed

The account is the one this very certificate is bound to (by its SHA-256 fingerprint): at
registration (AccountCreated carries the fingerprint) or through the add-method flow of the
account's methods page, and only while the certificate still names that account's holder
(the same typed identity key). Any other valid certificate, even one of the same person, is
``certificate_not_registered`` and binds nothing: a certificate found "by identity" would let
whoever obtains a certificate in someone's name (a second token, a SIM) into their account.
A session opened this way is level 3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from services.profile.domain.errors import FlowExpired, FlowState
from services.profile.domain.identity_keys import id_type_of, identity_key
from services.profile.domain.models import Account
from shared.contracts.pki import SignatureChallenge, SimStarted
from shared.phones import mask_phone

SIGNATURE_LEVEL = 3
PKI_PURPOSE = "login"
USB = "usb"
SIM = "sim"
SIGNATURE_METHODS = frozenset({USB, SIM})
# pki's refusals after which a SIM login can never finish (the session on the phone is over).
SIM_ENDING_CODES = frozenset({
    "sim_rejected", "sim_timeout", "certificate_untrusted", "certificate_expired",
    "certificate_revoked", "certificate_not_for_signing", "signature_invalid",
})

CertificateLoginStatus = Literal["awaiting_signature", "completed", "failed"]


@dataclass(frozen=True)
class CertificateProof:
    """What pki vouches for: who the certificate names and which certificate it is."""

    subject_type: str
    identity: dict[str, str]
    fingerprint_sha256: str
    serial: str
    issuer: str
    not_after: str | None

    @classmethod
    def from_pki(cls, result: Mapping[str, Any]) -> CertificateProof:
        return cls(subject_type=str(result["subject_type"]), identity=dict(result["identity"]),
                   fingerprint_sha256=str(result["fingerprint_sha256"]),
                   serial=str(result["serial"]), issuer=str(result["issuer"]),
                   not_after=result.get("not_after"))

    @property
    def id_number(self) -> str:
        """The ID number of a citizen, the tax code of an enterprise."""
        return self.identity["id_number"]

    @property
    def identity_key(self) -> str:
        """Who the certificate names, the document's type included (``HC:…`` ≠ ``CMND:…``)."""
        return identity_key(id_type_of(self.subject_type, self.identity.get("id_type"),
                                       self.id_number), self.id_number)

    def names_holder_of(self, account: Account) -> bool:
        """The certificate names the account's own holder: same subject type, same typed
        identity key (an employee's certificate never names the company)."""
        return (self.subject_type == account.subject_type
                and self.identity_key == account.identity_key)

    def binding(self) -> dict[str, Any]:
        """The facts an auth method of type usb/sim keeps (``AuthMethod.details``)."""
        details = {"fingerprint_sha256": self.fingerprint_sha256, "serial": self.serial,
                   "issuer": self.issuer}
        if self.not_after:
            details["not_after"] = self.not_after
        return details


@dataclass
class CertificateLogin:
    flow_id: str
    method: str  # usb or sim
    status: CertificateLoginStatus
    flow_token_hash: str
    created_at: datetime
    expires_at: datetime
    phone: str | None = None  # E.164, the SIM's number
    ip: str | None = None
    user_agent: str | None = None
    account_id: str | None = None
    session_id: str | None = None
    code: str | None = None
    completed_at: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def ensure_readable(self, now: datetime) -> None:
        if self.status == "awaiting_signature" and self.is_expired(now):
            raise FlowExpired()

    def ensure_awaiting(self, method: str, now: datetime) -> None:
        if self.method != method or self.status != "awaiting_signature":
            raise FlowState()
        if self.is_expired(now):
            raise FlowExpired()

    def view(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.flow_id, "status": self.status, "method": self.method}
        if self.phone:
            data["phone_masked"] = mask_phone(self.phone)
        if self.code:
            data["code"] = self.code
        if self.session_id:
            data["session_id"] = self.session_id
        return data


def account_for(bound: Account | None, proof: CertificateProof) -> Account | None:
    """The account to log in: the one the certificate is bound to, if the certificate still
    names its holder (a binding made before identity keys carried their type is not
    trusted blindly)."""
    if bound is not None and proof.names_holder_of(bound):
        return bound
    return None


# --- ports ----------------------------------------------------------------------------------

class PkiService(Protocol):
    """The pki service; its refusals come back as PkiRejected, passed to the caller."""

    async def challenge(self, flow_id: str, purpose: str) -> SignatureChallenge: ...

    async def verify_signature(self, flow_id: str, purpose: str, certificate: str,
                               chain: list[str] | str | None,
                               signature: str) -> CertificateProof: ...

    async def sim_start(self, flow_id: str, purpose: str, phone: str) -> SimStarted: ...

    async def sim_status(self, flow_id: str, purpose: str) -> CertificateProof | None: ...

