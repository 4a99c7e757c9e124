"""What the use cases need from the outside world, as protocols: Mongo and the otp service
implement them in adapters/, in-memory fakes in the unit tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol, Self

from services.profile.domain.account_management import MethodFlow
from services.profile.domain.certificate_login import CertificateLogin
from services.profile.domain.credentials import StagedCredential
from services.profile.domain.guards import Count
from services.profile.domain.models import (
    Account,
    AuthMethod,
    LoginFlow,
    LoginRecord,
    PasswordReset,
    Phone,
    Session,
    Subscriber,
)
from services.profile.domain.step_up import StepUp
from shared.contracts.otp import IssuedOtp, OtpPolicy, VerifiedOtp
from shared.events import Envelope


class AccountRepository(Protocol):
    async def add(self, account: Account) -> None:
        """Inserts; the unique _id and id_number reject a second account for the same one."""

    async def get(self, account_id: str) -> Account | None: ...

    async def find_by_login_name(self, name: str) -> Account | None:
        """By username, or by the CMND/CCCD key a typed-in number means (never a passport's
        or a tax code's: domain/identity_keys)."""

    async def find_by_key(self, key: str) -> Account | None:
        """By the unique ``index_key`` (a typed identity key, ``agent:…``, ``agency:…``)."""

    async def replace_phone(self, account_id: str, phone_id: str, phone: str,
                            now: datetime) -> bool:
        """The number of the phone ``phone_id`` becomes ``phone`` (a lost OTP phone)."""

    async def set_password(self, account_id: str, password_hash: str) -> bool:
        """A new password hash; the one-time-password mark (post office) is cleared."""

    async def set_disabled(self, account_id: str, disabled_at: datetime | None) -> bool:
        """Disables the account at ``disabled_at`` (None enables it again)."""


class LoginFlowRepository(Protocol):
    async def add(self, flow: LoginFlow) -> None: ...

    async def get(self, flow_id: str) -> LoginFlow | None: ...

    async def complete(self, flow_id: str, session_id: str, now: datetime) -> bool:
        """otp_sent → completed, atomically and only if still live: True for one caller only."""

    async def redirect_otp(self, flow_id: str, now: datetime, *, phone: str, phone_id: str,
                           otp_ref: str, new_phone: str | None) -> bool:
        """Points a live flow that waits for its OTP at another phone."""

    async def advance(self, flow_id: str, from_status: str, to_status: str,
                      now: datetime) -> bool:
        """``from_status`` → ``to_status`` if the flow is live and still there."""

    async def stage_password(self, flow_id: str, password_hash: str, now: datetime) -> bool:
        """password_change_required → otp_sent, keeping ``password_hash`` in the flow until
        the OTP is verified; False if the flow is not live or already past that step."""


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None: ...

    async def touch(self, token_hash: str, now: datetime,
                    idle_expires_at: datetime) -> Session | None:
        """Slides the idle expiry of a live session; None (and no change) if it is not live."""

    async def touch_by_id(self, session_id: str, now: datetime,
                          idle_expires_at: datetime) -> Session | None:
        """``touch`` by the session's id (the idle touches a gateway coalesced)."""

    async def revoke(self, token_hash: str, now: datetime) -> Session | None:
        """Revokes a session not yet revoked; None if unknown or already revoked."""

    async def revoke_all(self, account_id: str, now: datetime) -> list[Session]:
        """Revokes every session of the account not yet revoked; returns those it revoked."""


class PasswordResetRepository(Protocol):
    async def add(self, reset: PasswordReset) -> None: ...

    async def get(self, reset_id: str) -> PasswordReset | None: ...

    async def advance(self, reset_id: str, from_status: str, to_status: str,
                      now: datetime) -> bool:
        """``from_status`` → ``to_status`` if live: True for one caller only."""


class LoginHistory(Protocol):
    async def add(self, record: LoginRecord) -> None: ...

    async def recent(self, account_id: str, limit: int,
                     before: datetime | None = None) -> list[LoginRecord]:
        """Newest first, a page of ``limit`` records older than ``before``."""


class StagedCredentials(Protocol):
    """Password hashes handed over by registration, waiting for their AccountCreated."""

    async def add(self, staged: StagedCredential) -> None: ...

    async def take(self, credential_id: str, registration_id: str) -> str | None:
        """The hash of that credential of that registration, removed; None if absent."""


class Store(Protocol):
    """The repositories outside a transaction: reads and single-document atomic updates."""

    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def logins(self) -> LoginFlowRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def history(self) -> LoginHistory: ...
    @property
    def resets(self) -> PasswordResetRepository: ...
    @property
    def credentials(self) -> StagedCredentials: ...


# Account management (/me): contacts and methods of the account document, its sessions.

class ManagedAccounts(Protocol):
    async def update_contacts(self, account_id: str, changes: dict[str, str | None]) -> bool:
        ...

    async def add_phone_method(self, account_id: str, method: AuthMethod, phone: str,
                               now: datetime, max_phones: int) -> bool:
        """Adds the OTP phone and its sms method in one conditional update: False when the
        account already has ``max_phones`` phones or this number."""
        ...

    async def add_certificate_method(self, account_id: str, method: AuthMethod,
                                     level: int) -> bool:
        """Adds a usb/sim method unless that certificate's fingerprint is bound already."""
        ...

    async def remove_method(self, account_id: str, method: AuthMethod,
                            expected_method_ids: list[str]) -> bool:
        """Removes the method (and its phone) only if the account's methods are still
        exactly ``expected_method_ids``: a concurrent removal cannot leave no way in."""
        ...

    async def owner_of_fingerprint(self, fingerprint_sha256: str) -> str | None: ...

    async def keep_former_phone(self, account_id: str, phone: Phone, now: datetime) -> None:
        """Keeps a removed phone's number (the last few), so the notice of its removal can
        still reach it."""
        ...

    async def phone_numbers(self, account_id: str, phone_ids: list[str]) -> dict[str, str]:
        """phone id → number, for the account's phones and the ones it removed lately."""
        ...

    async def keep_former_email(self, account_id: str, email: str, event_id: str,
                                now: datetime) -> None:
        """Keeps the e-mail a change replaced (the last few), under the id of the event that
        announces the change, so its notice goes to the old address."""
        ...

    async def notice_email(self, account_id: str, event_id: str) -> str | None:
        """Where the notice of event ``event_id`` goes: the address that change replaced,
        else the account's e-mail."""
        ...


class ManagedSessions(Protocol):
    async def active(self, account_id: str, now: datetime) -> list[Session]: ...

    async def revoke_one(self, account_id: str, session_id: str,
                         now: datetime) -> Session | None:
        """Revokes the account's live session ``session_id``; None if no such session."""
        ...

    async def revoke_others(self, account_id: str, keep_session_id: str,
                            now: datetime) -> list[Session]: ...

    async def mark_reauthenticated(self, session_id: str, at: datetime, level: int) -> bool:
        """Records a step-up on the live session ``session_id``."""
        ...


class MethodFlowRepository(Protocol):
    async def add(self, flow: MethodFlow) -> None: ...

    async def get(self, flow_id: str) -> MethodFlow | None: ...

    async def finish(self, flow_id: str, from_status: str, to_status: str, now: datetime, *,
                     method_id: str | None = None, code: str | None = None) -> bool:
        """``from_status`` → ``to_status`` atomically, if still live: True for one caller."""
        ...


class StepUpRepository(Protocol):
    async def add(self, flow: StepUp) -> None: ...

    async def get(self, flow_id: str) -> StepUp | None: ...

    async def finish(self, flow_id: str, from_status: str, to_status: str, now: datetime, *,
                     code: str | None = None) -> bool:
        """``from_status`` → ``to_status`` atomically, if still live: True for one caller."""
        ...


# The signature logins (usb, sim).

class CertificateLoginRepository(Protocol):
    async def add(self, flow: CertificateLogin) -> None: ...

    async def get(self, flow_id: str) -> CertificateLogin | None: ...

    async def complete(self, flow_id: str, account_id: str, session_id: str,
                       now: datetime) -> bool:
        """awaiting_signature → completed, atomically and only if live: True for one caller."""
        ...

    async def fail(self, flow_id: str, code: str, now: datetime) -> bool:
        """awaiting_signature → failed with ``code``: True for one caller."""
        ...


class CertificateAccounts(Protocol):
    async def find_by_fingerprint(self, fingerprint_sha256: str) -> Account | None:
        """The account a usb/sim method of which holds this certificate."""
        ...


class VneidAccounts(Protocol):
    """Accounts by their linked VNeID identity (issue 15, ``domain/vneid.py``)."""

    async def find_by_sub(self, sub: str) -> Account | None: ...

    async def add_link(self, account_id: str, index_key: str, method: AuthMethod) -> bool:
        """Adds the ``vneid`` method if the account still has this identity key and no
        ``vneid`` method (one conditional update); False otherwise."""
        ...


class SessionMirror(Protocol):
    """The session mirror gateways answer session checks from (issue 13,
    adapters/session_mirror.py): profile is its only writer."""

    async def opened(self, token: str, session: Session) -> None:
        """A live session, after its commit (never raises: a miss is asked of profile)."""

    async def refreshed(self, session: Session) -> None:
        """A live session touched (never raises; never overwrites a revoked marker)."""

    async def revoked(self, sessions: Sequence[Session]) -> None:
        """Revoked sessions, before the commit that revokes them (raises if not written)."""

    async def accounts_changed(self, account_ids: Iterable[str]) -> None:
        """Accounts whose ``me`` view may have changed (never raises)."""

    def accounts_changed_later(self, account_ids: Iterable[str]) -> None:
        """``accounts_changed`` in the background (after a commit, not delaying its caller)."""


class UnitOfWork(Store, Protocol):
    """State, the events it causes and the consumed event id, committed together or not at
    all: one unit of work over every repository of the service."""

    @property
    def managed_accounts(self) -> ManagedAccounts: ...

    @property
    def managed_sessions(self) -> ManagedSessions: ...

    @property
    def method_flows(self) -> MethodFlowRepository: ...

    @property
    def step_ups(self) -> StepUpRepository: ...

    @property
    def certificate_logins(self) -> CertificateLoginRepository: ...

    @property
    def certificate_accounts(self) -> CertificateAccounts: ...

    @property
    def vneid_accounts(self) -> VneidAccounts: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    def emit(self, event: Envelope) -> None: ...

    async def mark_processed(self, consumer: str, event_id: str) -> None:
        """Raises shared.storage.AlreadyProcessed when this consumer has seen the event."""

    async def commit(self) -> None: ...


class OtpService(Protocol):
    """The otp service; its domain errors come back as OtpRejected, passed to the caller."""

    async def issue(self, flow_id: str, purpose: str, phone: str) -> IssuedOtp: ...

    async def verify(self, flow_id: str, purpose: str, phone: str,
                     code: str) -> VerifiedOtp:
        """``phone``: where the caller's flow says the code went; a code sent to any other
        number is refused (otp_invalid)."""

    async def policy(self) -> OtpPolicy:
        """otp's timing and attempts (what a decoy reset imitates): read once and kept."""
        ...


class AttemptCounters(Protocol):
    """Counters in windows that start at their first hit; every method is ONE atomic
    operation in the store, so parallel requests each see a distinct value."""

    async def hit(self, key: str, now: datetime, window: timedelta) -> Count:
        """Adds one (opening a new window if none is live) and returns the count after it."""

    async def give_back(self, key: str, now: datetime) -> None:
        """Takes one back from the live window (a reservation that was not used)."""


class Locks(Protocol):
    async def lock(self, key: str, until: datetime) -> None:
        """Locked until ``until`` (a later lock already in place is kept)."""

    async def locked_until(self, key: str, now: datetime) -> datetime | None: ...


class Captchas(Protocol):
    async def add(self, captcha_id: str, answer_hash: str, expires_at: datetime) -> None: ...

    async def take(self, captcha_id: str, now: datetime) -> str | None:
        """Removes the captcha and returns its answer hash (None if unknown or expired):
        right or wrong, an answer is given once."""


class CaptchaImages(Protocol):
    async def render(self, text: str) -> bytes:
        """A PNG image of ``text``, distorted against machine reading."""


class CaptchaSounds(Protocol):
    async def render(self, text: str) -> bytes:
        """A WAV recording of ``text`` (digits) read aloud over noise: the captcha for people
        who cannot see the image."""


class GuardStore(Protocol):
    @property
    def counters(self) -> AttemptCounters: ...
    @property
    def locks(self) -> Locks: ...
    @property
    def captchas(self) -> Captchas: ...


class SubscriberRegistry(Protocol):
    """The telco subscriber registry (docs/external/telco-registry.md)."""

    async def find(self, phone: str) -> Subscriber | None: ...
