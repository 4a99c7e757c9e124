"""The ports the use cases need, as Protocols: Mongo and HTTP adapters implement them in
``adapters/``, the unit tests implement them with fakes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from services.registration.domain.flow import RegistrationFlow, Status
from services.registration.domain.methods.post_office import CounterRegistration
from services.registration.domain.model import IdentityRecord, InsuredPerson, Subscriber
from services.registration.domain.signature import CertificateProof
from services.registration.domain.throttle import Count
from shared.contracts.otp import IssuedOtp, OtpPolicy
from shared.contracts.pki import SignatureChallenge, SimStarted
from shared.events import Envelope


class RegistrationRepository(Protocol):
    """The flows of every method, in one collection."""

    async def add(self, flow: RegistrationFlow) -> None: ...

    async def get(self, registration_id: str) -> RegistrationFlow | None: ...

    async def transition(
        self,
        registration_id: str,
        *,
        from_status: Status,
        to_status: Status,
        now: datetime,
        changes: dict[str, Any] | None = None,
        only_if_live: bool = True,
    ) -> RegistrationFlow | None:
        """Atomically moves the flow if it is still at ``from_status`` (and, when
        ``only_if_live``, not expired at ``now``); the flow after the move, or None.
        ``changes`` hold domain values (identity, certificate, …) the adapter stores."""
        ...

    async def fail_one_expired(self, now: datetime,
                               methods: Collection[str]) -> RegistrationFlow | None:
        """Atomically moves ONE unfinished flow of ``methods`` whose expiry time has passed to
        ``failed`` (code ``flow_expired``); the flow after the move, or None when none is
        left. Of several sweepers racing for a flow, exactly one gets it."""
        ...


class IdentityRepository(Protocol):
    async def exists(self, key: str) -> bool:
        """Whether the typed identity key (``CMND:…``, ``HC:…``; never a bare number) has an
        account."""
        ...

    async def add(self, record: IdentityRecord) -> None:
        """Raises AccountExists when the identity key already has an account."""
        ...

    async def ensure(self, record: IdentityRecord) -> None:
        """Idempotent: records the identity key unless it is already there (event projection)."""
        ...


class UnitOfWork(Protocol):
    # Read-only in the protocol, so an adapter may hold its concrete repository types.
    @property
    def registrations(self) -> RegistrationRepository: ...

    @property
    def identities(self) -> IdentityRepository: ...

    @property
    def counter_registrations(self) -> CounterRegistrationRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    def emit(self, event: Envelope) -> None: ...

    async def mark_processed(self, consumer: str, event_id: str) -> None:
        """Raises shared.storage.AlreadyProcessed when the event was handled before."""
        ...

    async def commit(self) -> None:
        """Raises TransactionConflict when a concurrent transaction won; retry the unit."""
        ...


class SubscriberRegistry(Protocol):
    async def find(self, phone: str) -> Subscriber | None:
        """The record for an E.164 phone, None when unknown; raises ExternalUnavailable."""
        ...


class AttemptCounter(Protocol):
    async def hit(self, key: str, now: datetime, window: timedelta) -> Count:
        """Atomically counts one attempt under ``key`` (an opaque digest) in the window its
        first attempt opened (``window`` long); a lapsed window starts again at 1."""
        ...


class InsuranceRegistry(Protocol):
    async def find(self, bhxh_code: str) -> InsuredPerson | None:
        """The record of a 10-digit BHXH code, None when unknown; raises ExternalUnavailable."""
        ...


class CredentialOwner(Protocol):
    """profile, the owner of passwords and of the password rule (issues 11, 16): it checks the
    rule (against the person's ID number and phone) and the confirmation, hashes a new
    account's password and keeps it until the AccountCreated naming the returned
    ``credential_id`` takes it. The password never rides an event. Its refusals arrive as
    PasswordPolicyViolation / PasswordMismatch, its silence as ExternalUnavailable."""

    async def stage(self, registration_id: str, password: str, *, confirmation: str,
                    id_number: str, phone: str) -> str:
        """``phone``: E.164, as the flow holds it."""
        ...


class OtpGateway(Protocol):
    """The otp service. Its refusals arrive as OtpRejected (code passed through), its silence
    as ExternalUnavailable."""

    async def issue(self, flow_id: str, purpose: str, phone: str) -> IssuedOtp: ...

    async def verify(self, flow_id: str, purpose: str, phone: str, code: str) -> None:
        """``phone``: the number the code was sent to; a code verifies for it only."""

    async def policy(self) -> OtpPolicy:
        """otp's timing (when a new code may be asked): otp's rule, read once and kept."""
        ...


# --- registration with a digital signature (USB token, SIM) -----------------------------------

class PkiGateway(Protocol):
    """The pki service. Its refusals arrive as PkiRejected (code passed through)."""

    async def challenge(self, flow_id: str, purpose: str) -> SignatureChallenge: ...

    async def verify_signature(self, flow_id: str, purpose: str, certificate: str,
                               chain: list[str] | str | None,
                               signature: str) -> CertificateProof: ...

    async def sim_start(self, flow_id: str, purpose: str, phone: str) -> SimStarted: ...

    async def sim_status(self, flow_id: str, purpose: str,
                         wait_seconds: float = 0) -> CertificateProof | None:
        """None while the SIM owner has not answered."""
        ...


# --- registration at a post office counter ----------------------------------------------------

class CounterRegistrationRepository(Protocol):
    async def add(self, record: CounterRegistration) -> None:
        """Raises UsernameTaken when the issued username is already someone's."""
        ...


class AgentDayCounter(Protocol):
    async def claim(self, key: str, limit: int, purge_at: datetime) -> bool:
        """Takes one of the ``limit`` slots of ``key`` (an agent's day), ATOMICALLY; False
        when none is left."""
        ...


class NoticeGateway(Protocol):
    """The otp service's ``send_notice``: it composes the SMS, so the initial password is in
    no event or log. Refusals arrive as OtpRejected, silence as ExternalUnavailable."""

    async def send_initial_password(self, phone: str, username: str, password: str) -> None: ...


class AccountActivations(Protocol):
    """What registration knows of profile's AccountActivated (read-your-writes, issue 12):
    which flows' accounts are committed at profile and so can be used."""

    async def record(self, registration_id: str, account_id: str) -> None:
        """Idempotent: the flow's account is usable; wakes the steps waiting for it."""
        ...

    async def is_active(self, registration_id: str) -> bool: ...

    async def wait(self, registration_id: str, timeout: float) -> bool:
        """True as soon as the flow's account is usable, False after ``timeout`` seconds."""
        ...
