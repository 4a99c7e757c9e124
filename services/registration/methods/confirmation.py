"""The last step the identity-vouched methods share (usb and sim after pki's answer, vneid after
VNeID's): the person sees the identity, adds an e-mail if needed and confirms; the flow then
completes once, whoever else races it.

    awaiting_confirmation ──(confirm {email})──▶ completed: AccountCreated + RegistrationCompleted
"""

from __future__ import annotations

from datetime import datetime

from services.registration.domain.errors import AccountExists
from services.registration.domain.flow import RegistrationFlow, Status
from services.registration.domain.methods.signing import confirmation_email
from services.registration.flows import Completion
from services.registration.methods.base import MethodBase
from shared.contracts import registration as reg
from shared.events import Envelope
from shared.logging import get_logger

log = get_logger(__name__)


class ConfirmsIdentity(MethodBase):
    """A method whose flow ends with ``confirm``; it says what its account's events carry."""

    def _completion_events(self, flow: RegistrationFlow, now: datetime) -> list[Envelope]:
        raise NotImplementedError

    async def confirm(self, flow: RegistrationFlow,
                      request: reg.ConfirmIdentity) -> reg.RegistrationCompleted:
        if flow.status == Status.COMPLETED:
            # A retry whose first answer was lost: the same answer, nothing created again.
            return reg.RegistrationCompleted.model_validate(flow.completion())
        flow.require(Status.AWAITING_CONFIRMATION, self.deps.clock())
        email = confirmation_email(request.email, flow.subject_type)
        account_id = self.deps.new_id()
        try:
            completed = await self.flows.complete(
                flow, Status.AWAITING_CONFIRMATION,
                lambda now: Completion(
                    account_id=account_id, changes={"level": self.level, "email": email},
                    events=lambda done: self._completion_events(done, now)))
        except AccountExists as refused:
            await self.flows.fail(flow, Status.AWAITING_CONFIRMATION, refused.code)
            raise
        if completed is None:
            completed = await self.flows.settled(flow, Status.AWAITING_CONFIRMATION)
        log.info("registration confirmed", registration_id=flow.id,
                 account_id=completed.account_id, method=flow.method)
        # completed.account_id: a parallel retry may have completed it with its own id.
        return reg.RegistrationCompleted.model_validate(completed.completion())
