"""Registration with a SIM signature (``domain/methods/sim.py``): ``start`` asks pki to send
the signing request to the phone and returns the verification code; ``get`` polls pki until
the SIM owner answered. A SIM session that ended badly (rejected on the phone, timed out)
fails the flow with pki's code."""

from __future__ import annotations

from datetime import datetime

from services.registration.domain.errors import PkiRejected
from services.registration.domain.flow import RegistrationFlow, Status
from services.registration.domain.methods import sim
from services.registration.domain.signature import PKI_PURPOSE, SIM_ENDING_CODES
from services.registration.methods.base import Beginning, StartRequest, Step
from services.registration.methods.signature import PROOF_REFUSALS, SignatureMethod
from shared.contracts import registration as reg
from shared.phones import mask_phone


class SimMethod(SignatureMethod):
    name = sim.METHOD
    steps = frozenset({Step.CONFIRM})

    async def begin(self, request: StartRequest, now: datetime) -> Beginning:
        assert isinstance(request, reg.SimStart)
        flow_id = self.deps.new_id()
        application = sim.parse_application(request)
        started = await self.deps.pki.sim_start(flow_id, PKI_PURPOSE, application.phone)
        return Beginning(
            flow=self.new_flow(flow_id, application.subject_type, now, phone=application.phone),
            answer={"verification_code": started.verification_code,
                    "phone_masked": mask_phone(application.phone)})

    async def read(self, flow: RegistrationFlow) -> RegistrationFlow:
        if flow.status == Status.AWAITING_SIGNATURE:
            return await self._poll(flow)
        return flow

    async def _poll(self, flow: RegistrationFlow) -> RegistrationFlow:
        """Asks pki whether the SIM owner answered; the flow as it is after the answer."""
        try:
            proof = await self.deps.pki.sim_status(flow.id, PKI_PURPOSE)
        except PkiRejected as refused:
            if refused.code not in SIM_ENDING_CODES:
                raise
            await self.flows.fail(flow, Status.AWAITING_SIGNATURE, refused.code)
            return await self.flows.current(flow.id)
        if proof is None:
            return flow
        try:
            return await self.accept(flow, proof)
        except PROOF_REFUSALS:
            # The flow failed with the refusal's code: a read answers with the flow.
            return await self.flows.current(flow.id)
