"""Use cases of the registration with a digital signature (USB token, SIM): level 3.

    start ──▶ awaiting_signature ──(pki: valid certificate + signature)──▶ awaiting_confirmation
          ──(confirm {email})──▶ completed: AccountCreated (certificate binding) + RegistrationCompleted

USB: ``start`` asks pki for a challenge (flow id = registration id, purpose registration) and
returns it; the token's certificate and signature come to ``submit_signature``. SIM: ``start``
asks pki to send the signing request to the phone and returns the verification code; ``get``
polls pki until the SIM owner answered. pki's CertificateValidated event is consumed as well:
if our write after pki's answer was lost (a crash between the two), the flow still moves on.

A refused certificate (revoked, expired, untrusted, wrong signature) changes nothing here: pki
keeps the challenge, so the person may try again with another certificate. A SIM session that
ended badly (rejected on the phone, timed out) fails the flow with pki's code.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.registration.conflicts import retrying_conflicts
from services.registration.domain.errors import (
    AccountExists,
    FlowExpired,
    FlowNotFound,
    PkiRejected,
    ValidationFailed,
)
from services.registration.domain.methods import choose_method, sim, usb
from services.registration.domain.methods.signing import confirmation_email
from services.registration.domain.model import FLOW_LIFETIME, IdentityRecord, rfc3339
from services.registration.domain.ports import PkiGateway, SignatureUnitOfWork
from services.registration.domain.signature import (
    PKI_PURPOSE,
    SIGNATURE_LEVEL,
    SIGNATURE_METHODS,
    SIM_ENDING_CODES,
    CertificateBinding,
    CertificateProof,
    CertifiedIdentity,
    SignatureRegistration,
    SignatureStatus,
    check_proof,
    proof_changes,
)
from services.registration.expiry import ExpirySweeper
from services.registration.handlers import RegistrationHandlers
from shared import crypto
from shared.clock import Clock
from shared.events import (
    AccountCreated,
    CertificateValidated,
    Envelope,
    RegistrationCompleted,
    RegistrationFailed,
    new_event,
)
from shared.events.schemas import Identity as EventIdentity
from shared.logging import get_logger
from shared.phones import mask_phone
from shared.storage import AlreadyProcessed

log = get_logger(__name__)

CERTIFICATE_VALIDATED_CONSUMER = "registration-certificate-validated"
_REFUSALS = (ValidationFailed, AccountExists)


@dataclass
class SignatureDependencies:
    uow: Callable[[], SignatureUnitOfWork]
    pki: PkiGateway
    clock: Clock
    flow_secret: str
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))


class SignatureRegistrations:
    def __init__(self, deps: SignatureDependencies) -> None:
        self.deps = deps

    # --- RPC endpoints ---------------------------------------------------------------------

    async def start(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        now = self.deps.clock()
        registration_id = self.deps.new_id()
        phone: str | None = None
        answer: dict[str, Any]
        if payload.get("method") == usb.METHOD:
            chosen = usb.parse_application(payload).subject_type
            challenge = await self.deps.pki.challenge(registration_id, PKI_PURPOSE)
            answer = {"challenge": challenge["challenge"]}
        else:
            application = sim.parse_application(payload)
            chosen, phone = application.subject_type, application.phone
            started = await self.deps.pki.sim_start(registration_id, PKI_PURPOSE, phone)
            answer = {"verification_code": started["verification_code"],
                      "phone_masked": mask_phone(phone)}
        token = crypto.new_token()
        registration = SignatureRegistration(
            id=registration_id, status=SignatureStatus.AWAITING_SIGNATURE,
            method=str(payload["method"]), subject_type=chosen,
            flow_token_hash=crypto.keyed_hash(self.deps.flow_secret, token),
            created_at=now, expires_at=now + FLOW_LIFETIME, phone=phone)
        async with self.deps.uow() as uow:
            await uow.signature_registrations.add(registration)
            await uow.commit()
        log.info("signature registration started", registration_id=registration.id,
                 method=registration.method)
        return {"id": registration.id, "flow_token": token, "status": str(registration.status),
                "expires_at": rfc3339(registration.expires_at)} | answer

    async def get(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        registration = await self._load(payload)
        now = self.deps.clock()
        if registration.answers_expired(now):
            raise FlowExpired()
        if (registration.method == sim.METHOD
                and registration.status == SignatureStatus.AWAITING_SIGNATURE):
            registration = await self._poll_sim(registration)
        return registration.view()

    async def submit_signature(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        registration = await self._load(payload)
        registration.require_method(usb.METHOD)
        if registration.status == SignatureStatus.AWAITING_CONFIRMATION and not (
                registration.answers_expired(self.deps.clock())):
            # A retry whose first answer was lost: the flow's state, pki not asked again.
            return _accepted(registration)
        registration.require(SignatureStatus.AWAITING_SIGNATURE, self.deps.clock())
        signed = usb.parse_signed_challenge(payload)
        proof = await self.deps.pki.verify_signature(registration.id, PKI_PURPOSE,
                                                     signed.certificate, signed.chain,
                                                     signed.signature)
        return _accepted(await self._accept(registration, proof))

    async def confirm(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        registration = await self._load(payload)
        if registration.status == SignatureStatus.COMPLETED:
            # A retry whose first answer was lost: the same answer, nothing created again.
            return registration.completion()
        registration.require(SignatureStatus.AWAITING_CONFIRMATION, self.deps.clock())
        email = confirmation_email(payload, registration.subject_type)
        account_id = self.deps.new_id()
        try:
            completed = await self._complete(registration, account_id, email)
        except AccountExists as refused:
            await self._fail(registration, SignatureStatus.AWAITING_CONFIRMATION, refused.code)
            raise
        log.info("signature registration completed", registration_id=registration.id,
                 account_id=account_id, method=registration.method)
        # completed.account_id: a parallel retry may have completed it with its own id.
        return completed.completion()

    # --- consumed events -------------------------------------------------------------------

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
        now = self.deps.clock()
        async with self.deps.uow() as uow:
            try:
                await uow.mark_processed(CERTIFICATE_VALIDATED_CONSUMER, event.id)
            except AlreadyProcessed:
                return
            registration = await uow.signature_registrations.get(validated.flow_id)
            if registration is not None and registration.status == SignatureStatus.AWAITING_SIGNATURE:
                duplicate = await uow.identities.exists(proof.identity.key)
                try:
                    check_proof(registration, proof, duplicate)
                except _REFUSALS as refused:
                    moved = await uow.signature_registrations.transition(
                        registration.id, from_status=SignatureStatus.AWAITING_SIGNATURE,
                        to_status=SignatureStatus.FAILED, now=now,
                        changes={"code": refused.code}, only_if_live=False)
                    if moved is not None:
                        uow.emit(_failed_event(moved, refused.code, now))
                else:
                    await uow.signature_registrations.transition(
                        registration.id, from_status=SignatureStatus.AWAITING_SIGNATURE,
                        to_status=SignatureStatus.AWAITING_CONFIRMATION, now=now,
                        changes=proof_changes(proof))
            await uow.commit()

    # --- steps -----------------------------------------------------------------------------

    async def _load(self, payload: Mapping[str, Any]) -> SignatureRegistration:
        registration_id, token = payload.get("id"), payload.get("flow_token")
        if not isinstance(registration_id, str) or not isinstance(token, str) or not token:
            raise FlowNotFound()
        candidate = crypto.keyed_hash(self.deps.flow_secret, token)
        async with self.deps.uow() as uow:
            registration = await uow.signature_registrations.get(registration_id)
        if registration is None or not crypto.same(registration.flow_token_hash, candidate):
            raise FlowNotFound()
        return registration

    async def _current(self, registration_id: str) -> SignatureRegistration:
        async with self.deps.uow() as uow:
            current = await uow.signature_registrations.get(registration_id)
        if current is None:
            raise FlowNotFound()
        return current

    async def _poll_sim(self, registration: SignatureRegistration) -> SignatureRegistration:
        """Asks pki whether the SIM owner answered; the flow as it is after the answer."""
        try:
            proof = await self.deps.pki.sim_status(registration.id, PKI_PURPOSE)
        except PkiRejected as refused:
            if refused.code not in SIM_ENDING_CODES:
                raise
            await self._fail(registration, SignatureStatus.AWAITING_SIGNATURE, refused.code)
            return await self._current(registration.id)
        if proof is None:
            return registration
        try:
            return await self._accept(registration, proof)
        except _REFUSALS:
            # The flow failed with the refusal's code: a read answers with the flow.
            return await self._current(registration.id)

    async def _accept(self, registration: SignatureRegistration,
                      proof: CertificateProof) -> SignatureRegistration:
        """awaiting_signature → awaiting_confirmation with the identity of the certificate, or
        failed (account_exists, another subject type) with the error raised."""
        async with self.deps.uow() as uow:
            duplicate = await uow.identities.exists(proof.identity.key)
        try:
            check_proof(registration, proof, duplicate)
        except _REFUSALS as refused:
            await self._fail(registration, SignatureStatus.AWAITING_SIGNATURE, refused.code)
            raise
        now = self.deps.clock()
        moved = await self._move_to_confirmation(registration, proof, now)
        if moved is not None:
            return moved
        current = await self._current(registration.id)
        # The CertificateValidated consumer may have moved it first: that is success too.
        if current.status != SignatureStatus.AWAITING_CONFIRMATION:
            current.require(SignatureStatus.AWAITING_SIGNATURE, now)
        return current

    async def _move_to_confirmation(self, registration: SignatureRegistration,
                                    proof: CertificateProof,
                                    now: datetime) -> SignatureRegistration | None:
        """None when the flow is not at awaiting_signature any more. The CertificateValidated
        consumer may write the same flow at this very moment (a write conflict): try again,
        and find it moved or move it."""
        async def unit() -> SignatureRegistration | None:
            async with self.deps.uow() as uow:
                moved = await uow.signature_registrations.transition(
                    registration.id, from_status=SignatureStatus.AWAITING_SIGNATURE,
                    to_status=SignatureStatus.AWAITING_CONFIRMATION, now=now,
                    changes=proof_changes(proof))
                await uow.commit()
                return moved

        return await retrying_conflicts(unit)

    async def _complete(self, registration: SignatureRegistration, account_id: str,
                        email: str | None) -> SignatureRegistration:
        """One unit: the flow completes, the ID number / tax code is taken, the account is
        announced."""
        async def unit() -> SignatureRegistration | None:
            now = self.deps.clock()
            async with self.deps.uow() as uow:
                completed = await uow.signature_registrations.transition(
                    registration.id, from_status=SignatureStatus.AWAITING_CONFIRMATION,
                    to_status=SignatureStatus.COMPLETED, now=now,
                    changes={"account_id": account_id, "level": SIGNATURE_LEVEL,
                             "email": email, "completed_at": now})
                if completed is None:
                    return None
                assert completed.identity is not None
                await uow.identities.add(IdentityRecord(
                    key=completed.identity.key, account_id=account_id,
                    subject_type=completed.subject_type, created_at=now,
                    registration_id=completed.id))
                for event in _completion_events(completed, account_id, now):
                    uow.emit(event)
                await uow.commit()
                return completed

        if (completed := await retrying_conflicts(unit)) is not None:
            return completed
        current = await self._current(registration.id)
        if current.status == SignatureStatus.COMPLETED:
            return current  # a parallel try (a retry of this step) completed it: same answer
        current.require(SignatureStatus.AWAITING_CONFIRMATION, self.deps.clock())
        raise AssertionError("unreachable: require() raised")

    async def _fail(self, registration: SignatureRegistration, from_status: SignatureStatus,
                    code: str) -> None:
        now = self.deps.clock()
        async with self.deps.uow() as uow:
            failed = await uow.signature_registrations.transition(
                registration.id, from_status=from_status, to_status=SignatureStatus.FAILED,
                now=now, changes={"code": code}, only_if_live=False)
            if failed is not None:
                uow.emit(_failed_event(failed, code, now))
            await uow.commit()
        log.info("signature registration failed", registration_id=registration.id, code=code)


class SignatureExpirySweeper(ExpirySweeper):
    """The expiry sweeper of ``expiry.py``, over the signature flows."""

    def __init__(self, uow: Callable[[], SignatureUnitOfWork], clock: Clock) -> None:
        super().__init__(uow, clock)
        self._signature_uow = uow

    async def _fail_one(self) -> bool:
        now = self._clock()
        async with self._signature_uow() as uow:
            registration = await uow.signature_registrations.fail_one_expired(now)
            if registration is None:
                return False
            uow.emit(_failed_event(registration, registration.code or "flow_expired", now))
            await uow.commit()
        log.info("registration expired", registration_id=registration.id,
                 method=registration.method)
        return True


class RegistrationEndpoints:
    """``start`` and ``get`` serve every method: the signature methods' flows live in their
    own collection, the others' in ``registrations``."""

    def __init__(self, otp_flows: RegistrationHandlers,
                 signature_flows: SignatureRegistrations) -> None:
        self._otp_flows = otp_flows
        self._signature_flows = signature_flows

    async def start(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        if choose_method(payload) in SIGNATURE_METHODS:
            return await self._signature_flows.start(payload)
        return await self._otp_flows.start(payload)

    async def get(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return await self._signature_flows.get(payload)
        except FlowNotFound:
            return await self._otp_flows.get(payload)


def _failed_event(registration: SignatureRegistration, code: str, now: datetime) -> Envelope:
    return new_event(RegistrationFailed(registration_id=registration.id,
                                        method=registration.method, code=code),
                     correlation_id=registration.id, occurred_at=now)


def _completion_events(registration: SignatureRegistration, account_id: str,
                       now: datetime) -> list[Envelope]:
    assert registration.identity is not None and registration.certificate is not None
    identity = registration.identity
    created = AccountCreated(
        account_id=account_id,
        registration_id=registration.id,
        subject_type=registration.subject_type,
        method=registration.method,
        level=SIGNATURE_LEVEL,
        # id_type and, for an enterprise, tax_code ride along (Identity allows extra fields).
        identity=EventIdentity.model_validate(identity.as_dict()),
        phone=registration.phone,
        email=registration.email,
        created_at=rfc3339(now),
        certificate=registration.certificate.as_dict(),
    )
    account_event = new_event(created, correlation_id=registration.id, occurred_at=now)
    completed = RegistrationCompleted(registration_id=registration.id, account_id=account_id,
                                      method=registration.method, level=SIGNATURE_LEVEL)
    return [account_event,
            new_event(completed, correlation_id=registration.id, causation_id=account_event.id,
                      occurred_at=now)]


def _accepted(registration: SignatureRegistration) -> dict[str, Any]:
    """The signature step's answer: the identity read from the certificate, to confirm."""
    assert registration.identity is not None
    return {"status": str(registration.status), "identity": registration.identity.as_dict(),
            "subject_type": registration.subject_type}
