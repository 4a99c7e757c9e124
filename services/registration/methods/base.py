"""The ``RegistrationMethod`` protocol: what a method is (name, level), how it begins a flow,
and the steps of the flow it accepts. A step a method does not accept is refused as before
the methods shared one flow: ``not_found`` (such a flow was not where that step looked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, NoReturn, Protocol

from services.registration.domain.errors import FlowNotFound, RegistrationError
from services.registration.domain.flow import RegistrationFlow
from services.registration.flows import Dependencies, Flows
from shared.contracts import registration as reg
from shared.contracts.fields import FlowRef
from shared.events import Envelope

# What begins a flow: a person's start (one variant per method) or an agent's at a counter.
StartRequest = reg.StartRegistration | reg.CounterStart


class Step(StrEnum):
    SUBMIT_OTP = "submit_otp"
    RESEND_OTP = "resend_otp"
    SET_PASSWORD = "set_password"
    SUBMIT_SIGNATURE = "submit_signature"
    CONFIRM = "confirm"
    AGENT_REGISTER_RESEND = "agent_register_resend"
    AGENT_REGISTER_CONFIRM = "agent_register_confirm"


@dataclass(frozen=True)
class Beginning:
    """A method's start: the new flow (``start`` gives it its token), what the method adds to
    the start's answer, and the events stored with the flow."""

    flow: RegistrationFlow
    answer: dict[str, Any]
    events: Sequence[Envelope] = field(default_factory=tuple)


class RegistrationMethod(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def level(self) -> int:
        """The level of assurance an account registered this way has."""
        ...

    @property
    def steps(self) -> frozenset[Step]:
        """The steps of the flow this method accepts; the others it refuses."""
        ...

    @property
    def uses_flow_token(self) -> bool:
        """A counter flow is bound to its agent; every other flow to its owner's token."""
        ...

    @property
    def announces_expiry(self) -> bool:
        """Whether a lapsed flow of this method fails with RegistrationFailed (the sweeper)."""
        ...

    async def begin(self, request: StartRequest, now: datetime) -> Beginning:
        """Checks the start's request, asks what must be asked outside; raises the method's
        refusal."""
        ...

    async def after_begin(self, flow: RegistrationFlow) -> dict[str, Any]:
        """Once the flow is stored: what must wait for the commit (and its part of the
        answer)."""
        ...

    async def read(self, flow: RegistrationFlow) -> RegistrationFlow:
        """The flow as ``get`` shows it (a SIM flow asks pki whether the owner answered)."""
        ...

    async def submit_otp(self, flow: RegistrationFlow, request: reg.SubmitOtp) -> reg.StepDone: ...

    async def resend_otp(self, flow: RegistrationFlow, request: FlowRef) -> reg.OtpResent: ...

    async def set_password(self, flow: RegistrationFlow,
                           request: reg.SetPassword) -> reg.RegistrationCompleted: ...

    async def submit_signature(self, flow: RegistrationFlow,
                               request: reg.SubmitSignature) -> reg.SignatureAccepted: ...

    async def confirm(self, flow: RegistrationFlow,
                      request: reg.ConfirmIdentity) -> reg.RegistrationCompleted: ...

    async def agent_register_resend(self, flow: RegistrationFlow,
                                    request: reg.CounterFlowRef) -> reg.AgentRegistrationStarted: ...

    async def agent_register_confirm(self, flow: RegistrationFlow,
                                     request: reg.CounterOtp) -> reg.AgentRegistrationCreated: ...


class MethodBase:
    """Refuses every step; a method overrides the ones in its ``steps``."""

    name: ClassVar[str]
    level: ClassVar[int]
    steps: ClassVar[frozenset[Step]] = frozenset()
    uses_flow_token: ClassVar[bool] = True
    announces_expiry: ClassVar[bool] = True

    def __init__(self, deps: Dependencies, flows: Flows) -> None:
        self.deps = deps
        self.flows = flows

    def refuse(self, step: Step) -> NoReturn:
        raise self.refusal(step)

    def refusal(self, step: Step) -> RegistrationError:
        return FlowNotFound()

    async def begin(self, request: StartRequest, now: datetime) -> Beginning:
        raise NotImplementedError  # every method begins its own way

    async def after_begin(self, flow: RegistrationFlow) -> dict[str, Any]:
        return {}

    async def read(self, flow: RegistrationFlow) -> RegistrationFlow:
        return flow

    async def submit_otp(self, flow: RegistrationFlow, request: reg.SubmitOtp) -> reg.StepDone:
        self.refuse(Step.SUBMIT_OTP)

    async def resend_otp(self, flow: RegistrationFlow, request: FlowRef) -> reg.OtpResent:
        self.refuse(Step.RESEND_OTP)

    async def set_password(self, flow: RegistrationFlow,
                           request: reg.SetPassword) -> reg.RegistrationCompleted:
        self.refuse(Step.SET_PASSWORD)

    async def submit_signature(self, flow: RegistrationFlow,
                               request: reg.SubmitSignature) -> reg.SignatureAccepted:
        self.refuse(Step.SUBMIT_SIGNATURE)

    async def confirm(self, flow: RegistrationFlow,
                      request: reg.ConfirmIdentity) -> reg.RegistrationCompleted:
        self.refuse(Step.CONFIRM)

    async def agent_register_resend(self, flow: RegistrationFlow,
                                    request: reg.CounterFlowRef) -> reg.AgentRegistrationStarted:
        self.refuse(Step.AGENT_REGISTER_RESEND)

    async def agent_register_confirm(self, flow: RegistrationFlow,
                                     request: reg.CounterOtp) -> reg.AgentRegistrationCreated:
        self.refuse(Step.AGENT_REGISTER_CONFIRM)
