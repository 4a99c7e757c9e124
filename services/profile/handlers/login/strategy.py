"""What a login method is to the ``LoginFlow``: a ``LoginStrategy`` (its name, the level of
the session it opens, how it begins, how its flow reads) and the steps it accepts after the
start, each a protocol of its own (``OtpStep``, ``SignatureStep``): a step a method does not
accept is answered ``not_found``, as an unknown flow.

Adding a method: one module with its strategy (see ``usb.py``), registered in
``services/profile/bootstrap.py``, and its variant of ``LoginStart`` in
``shared/contracts/profile.py``; the gateway adds its schema variant and page tab.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, runtime_checkable

from services.profile.domain.certificate_login import CertificateLogin
from services.profile.domain.models import LoginFlow, LoginRecord, LoginResult
from services.profile.domain.ports import UnitOfWork
from shared.clock import Clock
from shared.contracts.profile import (
    LoginCompleted,
    LoginFlowView,
    LoginOtp,
    LoginSignature,
    LoginStart,
    LoginStarted,
    LoginStep,
    OtpResent,
)
from shared.events import LoginFailed, LoginSucceeded, new_event
from shared.logging import get_logger

log = get_logger(__name__)

# A login in progress: the password flows and the signature flows keep their own documents.
AnyLoginFlow = LoginFlow | CertificateLogin


class LoginStrategy(Protocol):
    method: str
    level: int

    async def begin(self, request: LoginStart) -> LoginStarted:
        """``login_start`` for this method (``request`` is its variant of the contract): the
        flow, and what the page needs next."""
        ...

    async def read(self, flow: AnyLoginFlow) -> LoginFlowView:
        """``login_get`` of one of this method's flows (the holder of its token asks)."""
        ...


@runtime_checkable
class OtpStep(Protocol):
    async def submit_otp(self, flow: AnyLoginFlow, request: LoginOtp) -> LoginCompleted: ...

    async def resend_otp(self, flow: AnyLoginFlow, request: LoginStep) -> OtpResent: ...


@runtime_checkable
class SignatureStep(Protocol):
    async def submit_signature(self, flow: AnyLoginFlow,
                               request: LoginSignature) -> LoginCompleted: ...


class LoginHistory:
    """Every login attempt's trace: a record in the account's login history and a
    LoginSucceeded / LoginFailed event (the activity log and the audit read them)."""

    def __init__(self, *, uow: Callable[[], UnitOfWork], clock: Clock,
                 new_id: Callable[[], str]) -> None:
        self._uow = uow
        self._clock = clock
        self._new_id = new_id

    def record(self, *, account_id: str | None, login_id: str, method: str,
               result: LoginResult, reason: str | None, ip: str | None,
               user_agent: str | None, now: datetime) -> LoginRecord:
        return LoginRecord(record_id=self._new_id(), account_id=account_id, login_id=login_id,
                           at=now, method=method, result=result, reason=reason, ip=ip,
                           user_agent=user_agent)

    async def add_failure(self, uow: UnitOfWork, *, account_id: str | None, login_id: str,
                          method: str, reason: str, ip: str | None, user_agent: str | None,
                          now: datetime) -> None:
        """The failure's record and event, in ``uow``'s transaction."""
        await uow.history.add(self.record(account_id=account_id, login_id=login_id,
                                          method=method, result="failure", reason=reason,
                                          ip=ip, user_agent=user_agent, now=now))
        uow.emit(new_event(
            LoginFailed(login_id=login_id, method=method, reason=reason,
                        account_id=account_id, ip=ip, user_agent=user_agent),
            correlation_id=login_id, occurred_at=now))

    async def add_success(self, uow: UnitOfWork, *, account_id: str, login_id: str,
                          method: str, level: int, ip: str | None, user_agent: str | None,
                          now: datetime) -> None:
        """The success's record and event, in the transaction that opens the session."""
        await uow.history.add(self.record(account_id=account_id, login_id=login_id,
                                          method=method, result="success", reason=None,
                                          ip=ip, user_agent=user_agent, now=now))
        uow.emit(new_event(
            LoginSucceeded(account_id=account_id, login_id=login_id, method=method,
                           level=level, ip=ip, user_agent=user_agent),
            correlation_id=login_id, occurred_at=now))

    async def failed(self, *, account_id: str | None, login_id: str, method: str,
                     reason: str, ip: str | None, user_agent: str | None) -> None:
        now = self._clock()
        async with self._uow() as uow:
            await self.add_failure(uow, account_id=account_id, login_id=login_id,
                                   method=method, reason=reason, ip=ip,
                                   user_agent=user_agent, now=now)
            await uow.commit()
        log.info("login failed", account_id=account_id, login_id=login_id, method=method,
                 reason=reason)
