"""Use cases of pki: signature challenges, certificate + signature validation (USB token),
and SIM signature sessions.

Validation order (cheap and local first, the CA's revocation answer last):
leaf validity window → path to a trust anchor (``x509.verification``) → key usage →
the signature over this flow's challenge → revocation of every certificate of the path below
the anchor (OCSP, then CRL) → the challenge is consumed and CertificateValidated committed in
ONE transaction. Any refusal commits CertificateRejected (reason = the error code) and changes
nothing else: the challenge stays usable until it expires, so the person may retry with
another certificate.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography import x509

from services.pki import metrics as pki_metrics
from services.pki.domain.certificates import (
    TrustStore,
    check_key_usage,
    check_validity_window,
    facts_of,
    verify_signature,
)
from services.pki.domain.challenge import (
    DEV_PORTAL_ORIGIN,
    Challenge,
    checked_origin,
    new_challenge,
    sim_digest,
    verification_code,
)
from services.pki.domain.challenge import message as challenge_message
from services.pki.domain.commands import FlowRef, SignedChallenge, wait_seconds
from services.pki.domain.errors import (
    CertificateExpired,
    CertificateNotForSigning,
    CertificateRefused,
    CertificateRevoked,
    CertificateUntrusted,
    ChallengeExpired,
    FlowNotFound,
    RevocationUnavailable,
    SignatureInvalid,
    SimPromptLimit,
    SimRejected,
    SimTimeout,
    SimUnavailable,
)
from services.pki.domain.identity import identity_of
from services.pki.domain.ports import (
    MobileSignatureError,
    MobileSignatureProvider,
    PkiUnitOfWork,
    RevocationChecker,
    RevocationStatus,
    SimSession,
    Transactions,
)
from services.pki.domain.sim_prompts import SIM_PROMPT_LIMITS, PromptLimits, display_text
from shared.clock import Clock
from shared.contracts.base import Empty
from shared.contracts.pki import (
    CertifiedIdentity,
    PkiStatus,
    SignatureChallenge,
    SignatureFlow,
    SimStarted,
    SimState,
    SimStatus,
    StartSim,
    ValidatedCertificate,
    VerifySignature,
)
from shared.events import CertificateRejected, CertificateValidated, new_event
from shared.logging import get_logger

log = get_logger(__name__)

LEVEL = 3
# Provider answers that mean the person (or their phone) said no, and those that mean time ran out.
_SIM_TIMEOUTS = {"TIMEOUT", "EXPIRED_TRANSACTION"}


class PkiService:
    def __init__(self, transactions: Transactions, trust: TrustStore,
                 revocation: RevocationChecker, sim: MobileSignatureProvider | None,
                 clock: Clock, revocation_fail_open: bool = False,
                 prompt_limits: PromptLimits = SIM_PROMPT_LIMITS,
                 portal_origin: str = DEV_PORTAL_ORIGIN) -> None:
        self._transactions = transactions
        self._portal_origin = checked_origin(portal_origin)
        self._prompt_limits = prompt_limits
        self._trust = trust
        self._revocation = revocation
        self._sim = sim
        self._clock = clock
        self._fail_open = revocation_fail_open

    async def status(self, _request: Empty) -> PkiStatus:
        return PkiStatus(trust_anchors=len(self._trust.anchors),
                         intermediates=len(self._trust.intermediates))

    # --- USB token: challenge, then certificate + signature --------------------------------

    async def challenge(self, request: SignatureFlow) -> SignatureChallenge:
        challenge = new_challenge(request.purpose, request.flow_id, self._clock())

        async def store(uow: PkiUnitOfWork) -> None:
            await uow.challenges.put(challenge)

        await self._transactions.run(store)
        # The domain-separated message, not the bare nonce (domain/challenge.py).
        signed = challenge_message(self._portal_origin, challenge.nonce)
        return SignatureChallenge(challenge=base64.b64encode(signed).decode(),
                                  expires_at=_rfc3339(challenge.expires_at))

    async def verify_signature(self, request: VerifySignature) -> ValidatedCertificate:
        command = SignedChallenge.of(request)
        flow = command.flow
        try:
            challenge = await self._live_challenge(flow)
            result = await self.validate(command.certificate, command.chain, command.signature,
                                         challenge_message(self._portal_origin, challenge.nonce))
            return await self._accept(flow, result, challenge.nonce)
        except CertificateRefused as refused:
            await self._reject(flow, refused)
            raise

    async def validate(self, certificate: x509.Certificate, chain: Sequence[x509.Certificate],
                       signature: bytes, message: bytes, *,
                       prehashed: bool = False) -> ValidatedCertificate:
        """Every check of a certificate and a signature; the result an accepting flow returns."""
        now = self._clock()
        check_validity_window(certificate, now)
        path = self._trust.build_path(certificate, chain, now)
        check_key_usage(certificate)
        identity = identity_of(certificate)
        verify_signature(certificate, signature, message, prehashed=prehashed)
        await self._check_revocation(path, now)
        facts = facts_of(certificate)
        return ValidatedCertificate(
            identity=CertifiedIdentity.model_validate(identity.as_dict()),
            subject_type=identity.subject_type, fingerprint_sha256=facts.fingerprint_sha256,
            serial=facts.serial, issuer=facts.issuer, not_after=_rfc3339(facts.not_after),
            level=LEVEL)

    async def _live_challenge(self, flow: FlowRef) -> Challenge:
        async def read(uow: PkiUnitOfWork) -> Challenge | None:
            return await uow.challenges.find(flow.purpose, flow.flow_id)

        challenge = await self._transactions.run(read)
        if challenge is None:
            raise ChallengeExpired()
        challenge.ensure_usable(self._clock())
        return challenge

    async def _check_revocation(self, path: Sequence[x509.Certificate], now: datetime) -> None:
        # path = leaf, intermediates..., anchor: the anchor is trusted by configuration.
        pairs = list(itertools.pairwise(path))
        statuses = await asyncio.gather(*(self._revocation.status(c, i, now) for c, i in pairs))
        for (certificate, _issuer), status in zip(pairs, statuses, strict=True):
            if status is RevocationStatus.REVOKED:
                if certificate is path[0]:
                    raise CertificateRevoked()
                raise CertificateRevoked("Chứng thư của tổ chức cấp chứng thư số này đã bị thu "
                                         "hồi. Vui lòng liên hệ nhà cung cấp chữ ký số.")
            if status is RevocationStatus.UNKNOWN:
                log.warning("revocation status unknown", serial=format(certificate.serial_number, "x"),
                            fail_open=self._fail_open)
                if not self._fail_open:
                    raise RevocationUnavailable()

    async def _accept(self, flow: FlowRef, result: ValidatedCertificate,
                      nonce: bytes) -> ValidatedCertificate:
        now = self._clock()

        async def consume(uow: PkiUnitOfWork) -> bool:
            used = await uow.challenges.consume(flow.purpose, flow.flow_id, nonce, now)
            if used is None:
                return False
            uow.emit(self._validated(flow, result, now))
            return True

        if not await self._transactions.run(consume):
            raise ChallengeExpired()  # consumed by a parallel verification, or just expired
        log.info("certificate validated", flow_id=flow.flow_id, purpose=flow.purpose,
                 serial=result.serial, subject_type=result.subject_type)
        return result

    def _validated(self, flow: FlowRef, result: ValidatedCertificate, now: datetime) -> Any:
        return new_event(
            CertificateValidated(flow_id=flow.flow_id, purpose=flow.purpose,  # type: ignore[arg-type]
                                 subject_type=result.subject_type,
                                 identity=result.identity.wire(),
                                 fingerprint_sha256=result.fingerprint_sha256,
                                 serial=result.serial, issuer=result.issuer, level=LEVEL,
                                 not_after=result.not_after),
            correlation_id=flow.flow_id, occurred_at=now)

    async def _reject(self, flow: FlowRef, refused: CertificateRefused) -> None:
        log.info("certificate rejected", flow_id=flow.flow_id, purpose=flow.purpose,
                 reason=refused.code)
        now = self._clock()

        async def record(uow: PkiUnitOfWork) -> None:
            uow.emit(new_event(
                CertificateRejected(flow_id=flow.flow_id, purpose=flow.purpose,  # type: ignore[arg-type]
                                    reason=refused.code),
                correlation_id=flow.flow_id, occurred_at=now))

        await self._transactions.run(record)

    # --- SIM signature ---------------------------------------------------------------------

    async def sim_start(self, command: StartSim) -> SimStarted:
        provider = self._provider()
        flow = FlowRef.of(command)
        challenge = new_challenge(flow.purpose, flow.flow_id, self._clock())
        digest = sim_digest(challenge.nonce)
        code = verification_code(digest)
        await self._claim_prompt(command.phone, flow, challenge.created_at, challenge.expires_at)
        try:
            session_id = await provider.start(command.phone, digest,
                                              display_text(flow.purpose, code))
        except MobileSignatureError as exc:
            await self._release_prompt(command.phone, flow)
            pki_metrics.sim_prompt(SimUnavailable.code)
            raise SimUnavailable() from exc
        sim = SimSession(purpose=flow.purpose, flow_id=flow.flow_id, phone=command.phone,
                         nonce=challenge.nonce, provider_session=session_id,
                         created_at=challenge.created_at, expires_at=challenge.expires_at)

        async def store(uow: PkiUnitOfWork) -> None:
            await uow.sim_sessions.put(sim)

        await self._transactions.run(store)
        pki_metrics.sim_prompt(pki_metrics.SENT)
        return SimStarted(verification_code=code, expires_at=_rfc3339(sim.expires_at),
                          status="pending")

    async def _claim_prompt(self, phone: str, flow: FlowRef, now: datetime,
                            pending_until: datetime) -> None:
        """Push fatigue: the phone's prompt budget is taken before the SIM is asked."""
        async def claim(uow: PkiUnitOfWork) -> datetime | None:
            return await uow.sim_prompts.claim(phone, _flow_key(flow), now, pending_until,
                                               self._prompt_limits)

        free = await self._transactions.run(claim)
        if free is not None:
            log.info("sim prompt refused: phone limit", flow_id=flow.flow_id,
                     purpose=flow.purpose)
            pki_metrics.sim_prompt(SimPromptLimit.code)
            raise SimPromptLimit(max(1, math.ceil((free - now).total_seconds())))

    async def _release_prompt(self, phone: str, flow: FlowRef) -> None:
        async def release(uow: PkiUnitOfWork) -> None:
            await uow.sim_prompts.release(phone, _flow_key(flow))

        await self._transactions.run(release)

    async def sim_status(self, command: SimStatus) -> SimState:
        flow = FlowRef.of(command)

        async def read(uow: PkiUnitOfWork) -> SimSession | None:
            return await uow.sim_sessions.find(flow.purpose, flow.flow_id)

        sim = await self._transactions.run(read)
        if sim is None:
            raise FlowNotFound()
        if sim.state != "running":
            return _finished(sim)
        now = self._clock()
        if now >= sim.expires_at:
            return await self._finish_refused(sim, SimTimeout())
        try:
            answer = await self._provider().status(sim.provider_session, wait_seconds(command))
        except MobileSignatureError as exc:
            raise SimUnavailable() from exc
        if answer.state != "COMPLETE":
            return SimState(status="pending")
        try:
            result = await self._sim_result(sim, answer.result, answer.signature,
                                            answer.certificate_der)
        except CertificateRefused as refused:
            return await self._finish_refused(sim, refused)
        return await self._finish_completed(sim, result)

    async def _sim_result(self, sim: SimSession, outcome: str | None, signature: bytes | None,
                          certificate_der: bytes | None) -> ValidatedCertificate:
        if outcome in _SIM_TIMEOUTS:
            raise SimTimeout()
        if outcome == "NOT_CLIENT":
            raise SimRejected("Số điện thoại này chưa đăng ký dịch vụ ký số trên SIM. Vui lòng "
                              "liên hệ nhà mạng để đăng ký SIM ký số.")
        if outcome != "OK":
            raise SimRejected()
        if not signature or not certificate_der:
            raise SignatureInvalid()
        try:
            certificate = x509.load_der_x509_certificate(certificate_der)
        except (ValueError, x509.InvalidVersion) as exc:
            raise CertificateUntrusted() from exc
        return await self.validate(certificate, [], signature, sim_digest(sim.nonce),
                                   prehashed=True)

    async def _finish_completed(self, sim: SimSession,
                                result: ValidatedCertificate) -> SimState:
        now = self._clock()
        flow = FlowRef(sim.flow_id, sim.purpose)

        async def finish(uow: PkiUnitOfWork) -> SimSession | None:
            done = await uow.sim_sessions.finish(sim.purpose, sim.flow_id, sim.provider_session,
                                                 "completed", None, result.wire())
            if done is not None:
                await uow.sim_prompts.release(sim.phone, _flow_key(flow))
                uow.emit(self._validated(flow, result, now))
            return done

        done = await self._transactions.run(finish)
        if done is not None:
            pki_metrics.sim_prompt(pki_metrics.COMPLETED)
        return _finished(done) if done is not None else await self._current(sim)

    async def _finish_refused(self, sim: SimSession, refused: CertificateRefused) -> SimState:
        flow = FlowRef(sim.flow_id, sim.purpose)
        now = self._clock()

        async def finish(uow: PkiUnitOfWork) -> SimSession | None:
            done = await uow.sim_sessions.finish(sim.purpose, sim.flow_id, sim.provider_session,
                                                 "failed", refused.code, None)
            if done is not None:
                await uow.sim_prompts.release(sim.phone, _flow_key(flow))
                uow.emit(new_event(
                    CertificateRejected(flow_id=flow.flow_id, purpose=flow.purpose,  # type: ignore[arg-type]
                                        reason=refused.code),
                    correlation_id=flow.flow_id, occurred_at=now))
            return done

        if await self._transactions.run(finish) is not None:
            pki_metrics.sim_prompt(refused.code)
        log.info("sim signature refused", flow_id=sim.flow_id, reason=refused.code)
        raise refused

    async def _current(self, sim: SimSession) -> SimState:
        async def read(uow: PkiUnitOfWork) -> SimSession | None:
            return await uow.sim_sessions.find(sim.purpose, sim.flow_id)

        current = await self._transactions.run(read)
        if current is None:
            raise FlowNotFound()
        return _finished(current)

    def _provider(self) -> MobileSignatureProvider:
        if self._sim is None:
            raise SimUnavailable("Dịch vụ ký số trên SIM chưa được cấu hình.")
        return self._sim


_REFUSAL_BY_CODE: dict[str, type[CertificateRefused]] = {
    cls.code: cls for cls in (SimRejected, SimTimeout, SignatureInvalid, CertificateUntrusted,
                              CertificateExpired, CertificateNotForSigning, CertificateRevoked,
                              RevocationUnavailable)
}


def _finished(sim: SimSession) -> SimState:
    """A finished SIM session answers the same on every poll: its result, or its refusal."""
    if sim.state == "completed" and sim.result is not None:
        return SimState.model_validate({"status": "completed", **sim.result})
    raise _REFUSAL_BY_CODE.get(sim.code or "", SimRejected)()


def _flow_key(flow: FlowRef) -> str:
    return f"{flow.purpose}:{flow.flow_id}"


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")

