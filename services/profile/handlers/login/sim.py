"""The SIM signature: pki sends a signing request to the phone and returns the verification
code the person compares; polls ask pki whether the SIM's owner answered (``SimProof``). As a
login strategy (``SimLogin``) the poll that sees the approval opens the level-3 session and
returns it (once: a later read says ``completed`` with the session id); the step-up and the
methods page poll the same proof with their own purpose."""

from __future__ import annotations

from typing import Any

from services.profile.domain.certificate_login import (
    PKI_PURPOSE,
    SIGNATURE_LEVEL,
    SIM,
    SIM_ENDING_CODES,
    CertificateLogin,
    CertificateProof,
    PkiService,
)
from services.profile.domain.errors import (
    CertificateNotRegistered,
    FlowState,
    PkiRejected,
    ValidationFailed,
)
from services.profile.domain.phone import vietnamese_mobile
from services.profile.handlers.login.certificate import CertificateLogins
from services.profile.handlers.login.strategy import AnyLoginFlow
from shared.clock import Clock
from shared.contracts.profile import LoginFlowView, LoginStart, LoginStarted, SimLoginStart
from shared.phones import mask_phone

_PHONE_MISSING = "Vui lòng nhập số điện thoại của SIM ký số."


class SimEnded(Exception):
    """pki says the signing request ended without a signature (refused, expired)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class SimProof:
    """A signature by a SIM; ``pki`` None (not configured): the service is unavailable."""

    method = SIM

    def __init__(self, pki: PkiService | None) -> None:
        self._pki = pki

    async def begin(self, flow_id: str, purpose: str,
                    phone: str | None = None) -> tuple[str | None, dict[str, Any]]:
        """(the SIM's number in E.164, the answer's ``verification_code``)."""
        if not phone:
            raise ValidationFailed(fields=[{"name": "phone", "detail": _PHONE_MISSING}])
        number = vietnamese_mobile(phone)
        started = await self.pki.sim_start(flow_id, purpose, number)
        return number, {"verification_code": started.verification_code}

    async def poll(self, flow_id: str, purpose: str) -> CertificateProof | None:
        """The proof once the SIM's owner signed, None while waiting; ``SimEnded`` when the
        request ended unsigned (other refusals of pki pass through)."""
        try:
            return await self.pki.sim_status(flow_id, purpose)
        except PkiRejected as refused:
            if refused.code not in SIM_ENDING_CODES:
                raise
            raise SimEnded(refused.code) from None

    @property
    def pki(self) -> PkiService:
        if self._pki is None:
            raise PkiRejected("service_unavailable")
        return self._pki


class SimLogin:
    method = SIM
    level = SIGNATURE_LEVEL

    def __init__(self, *, proof: SimProof, logins: CertificateLogins, clock: Clock) -> None:
        self._proof = proof
        self._logins = logins
        self._clock = clock

    async def begin(self, request: LoginStart) -> LoginStarted:
        assert isinstance(request, SimLoginStart)
        flow_id = self._logins.new_flow_id()
        phone, answer = await self._proof.begin(flow_id, PKI_PURPOSE, request.phone)
        assert phone is not None
        return LoginStarted.model_validate(await self._logins.open(flow_id, request, phone)
                                           | answer | {"phone_masked": mask_phone(phone)})

    async def read(self, flow: AnyLoginFlow) -> LoginFlowView:
        assert isinstance(flow, CertificateLogin)
        return LoginFlowView.model_validate(await self._read(flow))

    async def _read(self, flow: CertificateLogin) -> dict[str, Any]:
        flow.ensure_readable(self._clock())
        if flow.status != "awaiting_signature":
            return flow.view()
        try:
            proof = await self._proof.poll(flow.flow_id, PKI_PURPOSE)
        except SimEnded as ended:
            await self._logins.fail(flow, ended.code)
            return await self._logins.view(flow.flow_id)
        if proof is None:
            return flow.view()
        try:
            return await self._logins.log_in(flow, proof, flow.ip, flow.user_agent)
        except (CertificateNotRegistered, FlowState):
            # Failed with that code, or completed by a concurrent poll: read it as it is.
            return await self._logins.view(flow.flow_id)
