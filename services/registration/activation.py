"""Read-your-writes (issue 12): a registration answers ``completed`` only once the account it
created can be used.

The saga: registration commits the flow and AccountCreated; profile creates the account and,
in the same transaction, announces AccountActivated; registration records it (this module's
consumer). Until then the flow answers ``creating_account``. The completing steps
(``set_password``, ``confirm``, ``agent_register_confirm``) wait for the activation a bounded
time and answer the flow's state as it is then; ``get`` never waits. A retried step answers
the same way, so a client that got ``creating_account`` (HTTP 202) reads the flow (or retries
the step) until it says ``completed``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, Protocol, TypeVar

from services.registration.domain.ports import AccountActivations
from shared.contracts.base import Contract
from shared.contracts.registration import ReadRegistration
from shared.events import AccountActivated, Envelope
from shared.logging import get_logger

log = get_logger(__name__)

ACCOUNT_ACTIVATED_CONSUMER = "registration-account-activated"
COMPLETED: Final = "completed"
# The answer while profile has not yet committed the account (202 at the gateway).
CREATING_ACCOUNT: Final = "creating_account"


class FlowNamed(Protocol):
    """A step's request: it names its flow (the registration id)."""

    @property
    def id(self) -> str: ...


RequestT = TypeVar("RequestT", bound=FlowNamed)
AnswerT = TypeVar("AnswerT", bound=Contract)


class ReadYourWrites:
    def __init__(self, activations: AccountActivations, wait_seconds: float) -> None:
        self._activations = activations
        self._wait = wait_seconds

    async def on_account_activated(self, event: Envelope) -> None:
        activated: AccountActivated = event.parse(AccountActivated)
        await self._activations.record(activated.registration_id, activated.account_id)
        log.info("account activated", registration_id=activated.registration_id,
                 account_id=activated.account_id)

    def completing(self, step: Callable[[RequestT], Awaitable[AnswerT]]
                   ) -> Callable[[RequestT], Awaitable[AnswerT]]:
        """A step that may complete a flow: its ``completed`` waits for the account."""
        async def run(request: RequestT) -> AnswerT:
            answer = await step(request)
            return await self._settle(request.id, answer, self._wait)
        return run

    def reading(self, step: Callable[[ReadRegistration], Awaitable[AnswerT]]
                ) -> Callable[[ReadRegistration], Awaitable[AnswerT]]:
        """``get``: says ``creating_account`` rather than ``completed`` until the account is
        usable; it waits (the same bounded time as a completing step) only when the caller
        asks with ``wait: true``, as the registration's success page does."""
        async def run(request: ReadRegistration) -> AnswerT:
            answer = await step(request)
            return await self._settle(request.id, answer, self._wait if request.wait else 0.0)
        return run

    async def _settle(self, registration_id: str, answer: AnswerT, wait: float) -> AnswerT:
        if getattr(answer, "status", None) != COMPLETED:
            return answer
        if wait > 0:
            usable = await self._activations.wait(registration_id, wait)
        else:
            usable = await self._activations.is_active(registration_id)
        if usable:
            return answer
        log.info("account not yet usable", registration_id=registration_id)
        return answer.model_copy(update={"status": CREATING_ACCOUNT})
