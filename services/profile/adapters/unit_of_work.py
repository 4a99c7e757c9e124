"""The profile service's one unit of work: shared's (transaction + outbox + processed ids)
with every repository of the service bound to its session, and the indexes they need.
(The login, account-management and certificate repositories had a unit of work each, near
copies of one another.)

With a session mirror (issue 13, ``adapters/session_mirror.py``), its session repositories
write revocations to the mirror before the transaction commits, and the accounts its events
name get a new ``me`` version before and after it commits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.profile.adapters.account_mongo import (
    ACCOUNT_INDEXES,
    MongoManagedAccounts,
    MongoManagedSessions,
    MongoMethodFlows,
    MongoStepUps,
)
from services.profile.adapters.certificate_mongo import (
    CERTIFICATE_INDEXES,
    MongoCertificateAccounts,
    MongoCertificateLogins,
)
from services.profile.adapters.mongo import (
    INDEXES,
    MongoAccounts,
    MongoLoginFlows,
    MongoLoginHistory,
    MongoPasswordResets,
    MongoStagedCredentials,
    MongoStore,
    merge_indexes,
)
from services.profile.adapters.session_mirror import (
    MirroringManagedSessions,
    MirroringSessions,
)
from services.profile.adapters.vneid_mongo import VNEID_INDEXES, MongoVneidAccounts
from services.profile.domain.ports import ManagedSessions, SessionMirror, SessionRepository
from shared.events import Envelope
from shared.storage import UnitOfWork

PROFILE_INDEXES = merge_indexes(INDEXES, CERTIFICATE_INDEXES, ACCOUNT_INDEXES, VNEID_INDEXES)


class ProfileUnitOfWork(UnitOfWork):
    accounts: MongoAccounts
    logins: MongoLoginFlows
    sessions: SessionRepository
    history: MongoLoginHistory
    resets: MongoPasswordResets
    credentials: MongoStagedCredentials
    managed_accounts: MongoManagedAccounts
    managed_sessions: ManagedSessions
    method_flows: MongoMethodFlows
    step_ups: MongoStepUps
    certificate_logins: MongoCertificateLogins
    certificate_accounts: MongoCertificateAccounts
    vneid_accounts: MongoVneidAccounts

    def __init__(self, client: AsyncMongoClient[dict[str, Any]],
                 db: AsyncDatabase[dict[str, Any]], on_commit: Callable[[], None] | None = None,
                 mirror: SessionMirror | None = None) -> None:
        super().__init__(client, db, on_commit=on_commit)
        self._mirror = mirror
        self._changed_accounts: set[str] = set()

    def emit(self, event: Envelope) -> None:
        account_id = event.payload.get("account_id")
        if isinstance(account_id, str):
            self._changed_accounts.add(account_id)
        super().emit(event)

    async def commit(self) -> None:
        changed, self._changed_accounts = sorted(self._changed_accounts), set()
        if self._mirror is not None and changed:
            # Before: a gateway that reads ``me`` again from here on asks profile, which
            # answers the committed state once the commit is done ...
            await self._mirror.accounts_changed(changed)
        await super().commit()
        if self._mirror is not None and changed:
            # ... and after, for an answer read (and kept) in between. Not awaited: the caller
            # goes on at once after its commit, as it always has.
            self._mirror.accounts_changed_later(changed)

    async def __aenter__(self) -> ProfileUnitOfWork:
        await super().__aenter__()
        db, session = self.db, self.session
        store = MongoStore(db, session)
        self.accounts = store.accounts
        self.logins = store.logins
        self.sessions = store.sessions
        self.history = store.history
        self.resets = store.resets
        self.credentials = store.credentials
        self.managed_accounts = MongoManagedAccounts(db, session)
        self.managed_sessions = MongoManagedSessions(db, session)
        self.method_flows = MongoMethodFlows(db, session)
        self.step_ups = MongoStepUps(db, session)
        self.certificate_logins = MongoCertificateLogins(db, session)
        self.certificate_accounts = MongoCertificateAccounts(db, session)
        self.vneid_accounts = MongoVneidAccounts(db, session)
        self._changed_accounts = set()
        if self._mirror is not None:
            self.sessions = MirroringSessions(self.sessions, self._mirror)
            self.managed_sessions = MirroringManagedSessions(self.managed_sessions, self._mirror)
        return self
