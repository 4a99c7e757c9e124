"""The USB token: pki hands out a challenge, the page has the token sign it and sends
certificate + signature back (``UsbProof``). As a login strategy (``UsbLogin``) it opens a
level-3 session; the step-up and the methods page verify the same proof with their own
purpose. A certificate pki refuses leaves the flow waiting (pki keeps the challenge): the
person may try another certificate."""

from __future__ import annotations

from typing import Any

from services.profile.domain.certificate_login import (
    PKI_PURPOSE,
    SIGNATURE_LEVEL,
    USB,
    CertificateLogin,
    CertificateProof,
    PkiService,
)
from services.profile.domain.errors import PkiRejected
from services.profile.handlers.login.certificate import CertificateLogins
from services.profile.handlers.login.strategy import AnyLoginFlow
from shared.clock import Clock
from shared.contracts.fields import SignatureProof
from shared.contracts.profile import LoginCompleted, LoginFlowView, LoginSignature, LoginStart, LoginStarted


class UsbProof:
    """A signature of pki's challenge by a token; ``pki`` None (not configured): the service
    is unavailable, said when a proof is asked for."""

    method = USB

    def __init__(self, pki: PkiService | None) -> None:
        self._pki = pki

    async def begin(self, flow_id: str, purpose: str,
                    phone: str | None = None) -> tuple[str | None, dict[str, Any]]:
        """(no phone, the answer's ``challenge``)."""
        challenge = await self.pki.challenge(flow_id, purpose)
        return None, {"challenge": challenge.challenge}

    async def verify(self, flow_id: str, purpose: str, signed: SignatureProof
                     ) -> CertificateProof:
        return await self.pki.verify_signature(flow_id, purpose, signed.certificate,
                                               signed.chain, signed.signature)

    @property
    def pki(self) -> PkiService:
        if self._pki is None:
            raise PkiRejected("service_unavailable")
        return self._pki


class UsbLogin:
    method = USB
    level = SIGNATURE_LEVEL

    def __init__(self, *, proof: UsbProof, logins: CertificateLogins, clock: Clock) -> None:
        self._proof = proof
        self._logins = logins
        self._clock = clock

    async def begin(self, request: LoginStart) -> LoginStarted:
        flow_id = self._logins.new_flow_id()
        _, answer = await self._proof.begin(flow_id, PKI_PURPOSE)
        return LoginStarted.model_validate(await self._logins.open(flow_id, request, None)
                                           | answer)

    async def read(self, flow: AnyLoginFlow) -> LoginFlowView:
        assert isinstance(flow, CertificateLogin)
        flow.ensure_readable(self._clock())
        return LoginFlowView.model_validate(flow.view())

    async def submit_signature(self, flow: AnyLoginFlow,
                               request: LoginSignature) -> LoginCompleted:
        assert isinstance(flow, CertificateLogin)
        flow.ensure_awaiting(USB, self._clock())
        ip = request.ip or flow.ip
        user_agent = request.user_agent or flow.user_agent
        try:
            proof = await self._proof.verify(flow.flow_id, PKI_PURPOSE, request)
        except PkiRejected as refused:
            await self._logins.failed_attempt(flow, refused.code, ip, user_agent)
            raise
        return LoginCompleted.model_validate(
            await self._logins.log_in(flow, proof, ip, user_agent))
