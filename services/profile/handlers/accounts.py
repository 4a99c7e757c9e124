"""An account from AccountCreated: made once, however often the event is delivered, with the
password registration staged for it (handlers/credentials.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.profile.domain.errors import CredentialMissing
from services.profile.domain.models import Account, Identity, open_account
from services.profile.domain.ports import UnitOfWork
from services.profile.handlers.common import new_id
from shared.clock import Clock
from shared.events import AccountActivated, AccountCreated, Envelope, new_event
from shared.failpoints import Failpoints
from shared.logging import get_logger
from shared.storage import AlreadyProcessed

log = get_logger(__name__)

ACCOUNT_CREATED_CONSUMER = "profile-account-created"
ACCOUNT_COMMITTED_FAILPOINT = "profile.after_account_commit"
# Facts about a signature method that AccountCreated may carry (extra fields of the payload).
_CERTIFICATE_FIELDS = ("fingerprint_sha256", "serial", "issuer")


class AccountOpening:
    def __init__(self, *, uow: Callable[[], UnitOfWork], clock: Clock,
                 failpoints: Failpoints | None = None,
                 new_id: Callable[[], str] = new_id) -> None:
        self._uow = uow
        self._clock = clock
        self._failpoints = failpoints or Failpoints()
        self._new_id = new_id

    async def on_account_created(self, event: Envelope) -> None:
        """Creates the account once, however often the event is delivered or replayed."""
        data: AccountCreated = event.parse(AccountCreated)
        async with self._uow() as uow:
            try:
                await uow.mark_processed(ACCOUNT_CREATED_CONSUMER, event.id)
            except AlreadyProcessed:
                return
            # Another event announcing the same account (a re-emitted fact) creates nothing;
            # the unique _id is the last guard against a concurrent twin.
            if await uow.accounts.get(data.account_id) is None:
                password_hash = await _take_credential(uow, data)
                await uow.accounts.add(self._account_from(data, password_hash))
            # In the same transaction: the account is usable once this fact is out, and the
            # registration saga answers "completed" only then (read-your-writes, issue 12).
            uow.emit(new_event(
                AccountActivated(account_id=data.account_id,
                                 registration_id=data.registration_id),
                correlation_id=event.correlation_id, causation_id=event.id,
                occurred_at=self._clock()))
            await uow.commit()
        # A crash test kills the process here: committed, not yet acknowledged.
        self._failpoints.hit(ACCOUNT_COMMITTED_FAILPOINT)
        log.info("account created", account_id=data.account_id, event_id=event.id)

    def _account_from(self, data: AccountCreated, password_hash: str | None) -> Account:
        extra = data.model_extra or {}
        account = self._open_account(data, extra, password_hash)
        # Post office (additive fields): the issued username and the one-time password mark.
        if isinstance(extra.get("username"), str):
            account.username = extra["username"]
        account.must_change_password = extra.get("must_change_password") is True
        return account

    def _open_account(self, data: AccountCreated, extra: dict[str, Any],
                      password_hash: str | None) -> Account:
        return open_account(
            account_id=data.account_id, registration_id=data.registration_id,
            subject_type=data.subject_type, method=data.method, level=data.level,
            identity=Identity(id_number=data.identity.id_number,
                              full_name=data.identity.full_name,
                              birth_date=data.identity.birth_date, sex=data.identity.sex,
                              tax_code=(data.identity.model_extra or {}).get("tax_code"),
                              id_type=data.identity.id_type),
            phone=data.phone, email=data.email, password_hash=password_hash,
            created_at=_parse_time(data.created_at),
            certificate=data.certificate or {k: extra[k] for k in _CERTIFICATE_FIELDS
                                             if k in extra},
            new_id=self._new_id,
            vneid_sub=extra["vneid_sub"] if isinstance(extra.get("vneid_sub"), str) else None,
        )


async def _take_credential(uow: UnitOfWork, data: AccountCreated) -> str | None:
    """The password hash the account starts with: the staged credential the event names,
    taken in the transaction that creates the account (domain/credentials.py). Events from
    before issue 11 carried the hash itself (an extra field now): still honoured, so events
    in flight across the upgrade lose no account."""
    if data.credential_id is None:
        legacy = (data.model_extra or {}).get("password_hash")
        return legacy if isinstance(legacy, str) else None
    password_hash = await uow.credentials.take(data.credential_id, data.registration_id)
    if password_hash is None:
        log.error("staged credential missing", account_id=data.account_id,
                  registration_id=data.registration_id)
        raise CredentialMissing()
    return password_hash


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
