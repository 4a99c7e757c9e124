"""What the level-3 digital-signature methods (usb, sim) share once pki vouches for a
certificate: the identity comes from it, the person adds an e-mail and confirms.

    awaiting_signature ──(pki: valid certificate + signature)──▶ awaiting_confirmation
          ──(confirm {email})──▶ completed: AccountCreated (certificate binding) + RegistrationCompleted

pki's CertificateValidated event is consumed as well (``CertificateEvents``): if our write
after pki's answer was lost (a crash between the two), the flow still moves on.

A refused certificate (revoked, expired, untrusted, wrong signature) changes nothing here: pki
keeps the challenge, so the person may try again with another certificate.
"""

from __future__ import annotations

from datetime import datetime

from services.registration.domain.errors import (
    AccountExists,
    FlowState,
    RegistrationError,
    ValidationFailed,
)
from services.registration.domain.flow import RegistrationFlow, Status
from services.registration.domain.model import FLOW_LIFETIME
from services.registration.domain.ports import UnitOfWork
from services.registration.domain.signature import (
    PKI_PURPOSE,
    SIGNATURE_LEVEL,
    CertificateBinding,
    CertificateProof,
    CertifiedIdentity,
    check_proof,
    proof_changes,
)
from services.registration.flows import FlowEvents, completion_events, failed_event
from services.registration.methods.base import Step
from services.registration.methods.confirmation import ConfirmsIdentity
from shared.contracts import registration as reg
from shared.events import CertificateValidated, Envelope
from shared.events.schemas import Identity as EventIdentity
from shared.events.schemas import SubjectType
from shared.logging import get_logger

log = get_logger(__name__)

CERTIFICATE_VALIDATED_CONSUMER = "registration-certificate-validated"
# The refusals of a proven certificate that end the flow (another subject type, a duplicate).
PROOF_REFUSALS = (ValidationFailed, AccountExists)
_NOT_THIS_METHOD = "Bước này không dùng cho phương thức đăng ký của hồ sơ này."


class SignatureMethod(ConfirmsIdentity):
    """A method whose proof is a certificate pki validated."""

    level = SIGNATURE_LEVEL

    def refusal(self, step: Step) -> RegistrationError:
        if step == Step.SUBMIT_SIGNATURE:
            # A signature flow of another method: found, but not this step's.
            return FlowState(_NOT_THIS_METHOD)
        return super().refusal(step)

    def new_flow(self, flow_id: str, subject_type: SubjectType, now: datetime,
                 phone: str | None = None) -> RegistrationFlow:
        return RegistrationFlow(
            id=flow_id, method=self.name, status=Status.AWAITING_SIGNATURE,
            subject_type=subject_type, created_at=now, expires_at=now + FLOW_LIFETIME,
            phone=phone)

    async def accept(self, flow: RegistrationFlow, proof: CertificateProof) -> RegistrationFlow:
        """awaiting_signature → awaiting_confirmation with the identity of the certificate, or
        failed (account_exists, another subject type) with the error raised."""
        async with self.deps.uow() as uow:
            duplicate = await uow.identities.exists(proof.identity.key)
        try:
            check_proof(flow.subject_type, proof, duplicate)
        except PROOF_REFUSALS as refused:
            await self.flows.fail(flow, Status.AWAITING_SIGNATURE, refused.code)
            raise
        moved = await self.flows.advance(flow, Status.AWAITING_SIGNATURE,
                                         Status.AWAITING_CONFIRMATION, proof_changes(proof))
        if moved is not None:
            return moved
        current = await self.flows.current(flow.id)
        # The CertificateValidated consumer may have moved it first: that is success too.
        if current.status != Status.AWAITING_CONFIRMATION:
            current.require(Status.AWAITING_SIGNATURE, self.deps.clock())
        return current

    def _completion_events(self, flow: RegistrationFlow, now: datetime) -> list[Envelope]:
        assert flow.identity is not None and flow.certificate is not None
        # id_type and, for an enterprise, tax_code ride along (Identity allows extra fields);
        # the account is bound to the certificate (no password: no credential_id).
        return completion_events(flow, now, EventIdentity.model_validate(flow.identity.as_dict()),
                                 certificate=flow.certificate.as_dict())


def accepted(flow: RegistrationFlow) -> reg.SignatureAccepted:
    """The signature step's answer: the identity read from the certificate, to confirm."""
    assert flow.identity is not None
    return reg.SignatureAccepted.model_validate({
        "status": str(flow.status), "identity": flow.identity.as_dict(),
        "subject_type": flow.subject_type})


class CertificateEvents(FlowEvents):
    """pki's facts about the certificates of registration flows."""

    async def on_certificate_validated(self, event: Envelope) -> None:
        """pki's fact, in case our write after its synchronous answer was lost."""
        validated: CertificateValidated = event.parse(CertificateValidated)
        if validated.purpose != PKI_PURPOSE:
            return
        proof = CertificateProof(
            subject_type=validated.subject_type,
            identity=CertifiedIdentity.from_dict(validated.identity),
            certificate=CertificateBinding(validated.fingerprint_sha256, validated.serial,
                                           validated.issuer, validated.not_after))
        now = self.flows.deps.clock()

        async def accept(uow: UnitOfWork) -> None:
            flow = await uow.registrations.get(validated.flow_id)
            if flow is None or flow.status != Status.AWAITING_SIGNATURE:
                return
            duplicate = await uow.identities.exists(proof.identity.key)
            try:
                check_proof(flow.subject_type, proof, duplicate)
            except PROOF_REFUSALS as refused:
                moved = await uow.registrations.transition(
                    flow.id, from_status=Status.AWAITING_SIGNATURE, to_status=Status.FAILED,
                    now=now, changes={"code": refused.code}, only_if_live=False)
                if moved is not None:
                    uow.emit(failed_event(moved, refused.code, now))
            else:
                await uow.registrations.transition(
                    flow.id, from_status=Status.AWAITING_SIGNATURE,
                    to_status=Status.AWAITING_CONFIRMATION, now=now,
                    changes=proof_changes(proof))

        await self.once(CERTIFICATE_VALIDATED_CONSUMER, event, accept)
