"""Registration with VNeID (``domain/methods/vneid.py``): ``start`` takes the verified claims
(the flow waits for ``confirm``, with the identity VNeID vouched for); ``confirm`` completes it
and announces the account (``vneid_sub`` rides AccountCreated, profile links it as the
account's method ``vneid``). A CCCD that already has an account is ``account_exists`` at the
start: that person links VNeID to it by logging in (profile's ``vneid_link``)."""

from __future__ import annotations

from datetime import datetime

from services.registration.domain.flow import RegistrationFlow, Status
from services.registration.domain.methods import vneid
from services.registration.domain.model import FLOW_LIFETIME
from services.registration.flows import completion_events
from services.registration.methods.base import Beginning, StartRequest, Step
from services.registration.methods.confirmation import ConfirmsIdentity
from shared.contracts import registration as reg
from shared.events import Envelope
from shared.events.schemas import Identity as EventIdentity
from shared.logging import get_logger

log = get_logger(__name__)


class VneidMethod(ConfirmsIdentity):
    name = vneid.METHOD
    level = vneid.LEVEL
    steps = frozenset({Step.CONFIRM})

    async def begin(self, request: StartRequest, now: datetime) -> Beginning:
        assert isinstance(request, reg.VneidStart)
        application = vneid.parse_application(request)
        await self.flows.refuse_duplicate(application.identity.key)
        flow = RegistrationFlow(
            id=self.deps.new_id(), method=self.name, status=Status.AWAITING_CONFIRMATION,
            subject_type="citizen", created_at=now, expires_at=now + FLOW_LIFETIME,
            identity=application.identity, vneid_sub=application.vneid_sub)
        return Beginning(flow=flow, answer={})

    def _completion_events(self, flow: RegistrationFlow, now: datetime) -> list[Envelope]:
        assert flow.identity is not None and flow.vneid_sub is not None
        identity = EventIdentity.model_validate(flow.identity.as_dict()
                                                | {"id_type": "CCCD"})
        return completion_events(flow, now, identity, vneid_sub=flow.vneid_sub)
