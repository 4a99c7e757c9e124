"""The endpoints of registration: RPC commands and consumed events in, state and events out.

One flow, a strategy per method (issue 16): ``start`` picks the method once from the
request; every later step loads the flow (by its token, or its agent at a counter), looks its
method up once and hands the step to it (``services/registration/methods/``). A step the
method does not accept is refused by the method. Requests and answers are the contract's
(``shared/contracts/registration.py``).

Each use case takes its ports and the clock from ``Dependencies`` (``flows.py``); nothing
here knows Mongo, NATS or HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from services.registration import metrics as registration_metrics
from services.registration.domain.errors import FlowExpired
from services.registration.domain.identity_keys import event_identity_key
from services.registration.domain.methods import choose_method, post_office
from services.registration.domain.model import IdentityRecord, rfc3339
from services.registration.domain.ports import UnitOfWork
from services.registration.flows import Dependencies, FlowEvents, Flows, step_span
from services.registration.methods.base import RegistrationMethod, StartRequest
from shared import crypto, tracing
from shared.contracts import registration as reg
from shared.contracts.fields import FlowRef
from shared.events import AccountCreated, Envelope
from shared.logging import get_logger

log = get_logger(__name__)

# Durable consumer name (docs/messaging.md): <service>-<purpose>.
ACCOUNT_CREATED_CONSUMER = "registration-account-created"


class RegistrationHandlers:
    def __init__(self, deps: Dependencies, flows: Flows,
                 methods: Mapping[str, RegistrationMethod]) -> None:
        self.deps = deps
        self.flows = flows
        self.methods = methods
        self.account_events = FlowEvents(flows)

    # --- starting ---------------------------------------------------------------------------

    async def start(self, request: reg.StartRegistration) -> reg.RegistrationStarted:
        method = self.methods[choose_method(request.method)]
        return reg.RegistrationStarted.model_validate(await self._begin(method, request))

    async def agent_register_start(self,
                                   request: reg.CounterStart) -> reg.AgentRegistrationStarted:
        method = self.methods[post_office.METHOD]
        return reg.AgentRegistrationStarted.model_validate(await self._begin(method, request))

    async def _begin(self, method: RegistrationMethod, request: StartRequest) -> dict[str, Any]:
        now = self.deps.clock()
        begun = await method.begin(request, now)
        flow, token = begun.flow, None
        if method.uses_flow_token:
            token = crypto.new_token()
            flow = replace(flow, flow_token_hash=crypto.keyed_hash(self.deps.flow_secret, token))
        # Later steps resume the start's trace (flows.step_span).
        flow = replace(flow, trace_context=tracing.current_trace_fields().get(tracing.TRACEPARENT))
        await self.flows.add(flow, begun.events)
        registration_metrics.flow_started(flow.method)
        log.info("registration started", registration_id=flow.id, method=flow.method)
        answer: dict[str, Any] = {"id": flow.id}
        if token is not None:
            answer["flow_token"] = token  # returned this once; only its keyed hash is stored
        answer |= {"status": str(flow.status), "expires_at": rfc3339(flow.expires_at)}
        return answer | begun.answer | await method.after_begin(flow)

    # --- the flow's owner (flow token) ------------------------------------------------------

    async def get(self, request: reg.ReadRegistration) -> reg.RegistrationView:
        flow = await self.flows.load(request)
        if flow.answers_expired(self.deps.clock()):
            raise FlowExpired()
        # A finished flow stays readable (its outcome) until the TTL index purges it.
        shown = await self.methods[flow.method].read(flow)
        return reg.RegistrationView.model_validate(shown.view())

    async def submit_otp(self, request: reg.SubmitOtp) -> reg.StepDone:
        flow = await self.flows.load(request)
        with step_span(flow, "submit_otp"):
            return await self.methods[flow.method].submit_otp(flow, request)

    async def resend_otp(self, request: FlowRef) -> reg.OtpResent:
        flow = await self.flows.load(request)
        with step_span(flow, "resend_otp"):
            return await self.methods[flow.method].resend_otp(flow, request)

    async def set_password(self, request: reg.SetPassword) -> reg.RegistrationCompleted:
        flow = await self.flows.load(request)
        with step_span(flow, "set_password"):
            return await self.methods[flow.method].set_password(flow, request)

    async def submit_signature(self, request: reg.SubmitSignature) -> reg.SignatureAccepted:
        flow = await self.flows.load(request)
        with step_span(flow, "submit_signature"):
            return await self.methods[flow.method].submit_signature(flow, request)

    async def confirm(self, request: reg.ConfirmIdentity) -> reg.RegistrationCompleted:
        flow = await self.flows.load(request)
        with step_span(flow, "confirm"):
            return await self.methods[flow.method].confirm(flow, request)

    # --- the agent at a counter -------------------------------------------------------------

    async def agent_register_resend(
            self, request: reg.CounterFlowRef) -> reg.AgentRegistrationStarted:
        flow = await self.flows.load_for_agent(request)
        with step_span(flow, "agent_register_resend"):
            return await self.methods[flow.method].agent_register_resend(flow, request)

    async def agent_register_confirm(
            self, request: reg.CounterOtp) -> reg.AgentRegistrationCreated:
        flow = await self.flows.load_for_agent(request)
        with step_span(flow, "agent_register_confirm"):
            return await self.methods[flow.method].agent_register_confirm(flow, request)

    # --- consumed events --------------------------------------------------------------------

    async def on_account_created(self, event: Envelope) -> None:
        """Feeds the duplicate-check projection from every account created anywhere."""
        created: AccountCreated = event.parse(AccountCreated)

        async def record(uow: UnitOfWork) -> None:
            await uow.identities.ensure(IdentityRecord(
                key=event_identity_key(created.subject_type, created.identity.id_type,
                                       created.identity.id_number),
                account_id=created.account_id,
                subject_type=created.subject_type, created_at=self.deps.clock(),
                registration_id=created.registration_id))

        await self.account_events.once(ACCOUNT_CREATED_CONSUMER, event, record)
