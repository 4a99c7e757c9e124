"""Registration with a USB token (``domain/methods/usb.py``): ``start`` asks pki for a
challenge (flow id = registration id, purpose registration) and returns it; the token's
certificate and signature come to ``submit_signature``."""

from __future__ import annotations

from datetime import datetime

from services.registration.domain.flow import RegistrationFlow, Status
from services.registration.domain.methods import usb
from services.registration.domain.signature import PKI_PURPOSE
from services.registration.methods.base import Beginning, StartRequest, Step
from services.registration.methods.signature import SignatureMethod, accepted
from shared.contracts import registration as reg


class UsbMethod(SignatureMethod):
    name = usb.METHOD
    steps = frozenset({Step.SUBMIT_SIGNATURE, Step.CONFIRM})

    async def begin(self, request: StartRequest, now: datetime) -> Beginning:
        assert isinstance(request, reg.UsbStart)
        flow_id = self.deps.new_id()
        chosen = usb.parse_application(request).subject_type
        challenge = await self.deps.pki.challenge(flow_id, PKI_PURPOSE)
        return Beginning(flow=self.new_flow(flow_id, chosen, now),
                         answer={"challenge": challenge.challenge})

    async def submit_signature(self, flow: RegistrationFlow,
                               request: reg.SubmitSignature) -> reg.SignatureAccepted:
        if flow.status == Status.AWAITING_CONFIRMATION and not (
                flow.answers_expired(self.deps.clock())):
            # A retry whose first answer was lost: the flow's state, pki not asked again.
            return accepted(flow)
        flow.require(Status.AWAITING_SIGNATURE, self.deps.clock())
        signed = usb.parse_signed_challenge(request)
        proof = await self.deps.pki.verify_signature(flow.id, PKI_PURPOSE, signed.certificate,
                                                     signed.chain, signed.signature)
        return accepted(await self.accept(flow, proof))
