"""Use cases of the account activity log (issue 10): append an entry for each security
event (a durable consumer), the owner's pages (``me_activity``), and the operator's check and
export (``admin_verify_audit``, ``admin_export_audit``: ``dvcid admin``).

Appends are idempotent by event id and serialised per account without a read-modify-write
race: an entry claims seq = last seq + 1 under a unique (account_id, seq) index; the loser of
a race reads the new last entry and tries again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from services.profile.domain.activity import (
    GENESIS,
    ActivityRule,
    ActivityStore,
    NewEntry,
    at_text,
    burst_milestone,
    burst_window,
    chain,
    entry_view,
    export_view,
    first_break,
    rules_for,
)
from services.profile.domain.errors import ProfileError
from shared.contracts.profile import ActivityLog as ActivityLogPage
from shared.contracts.profile import (
    ActivityPage,
    AuditExport,
    AuditVerification,
    ExportAudit,
    SessionRef,
    SessionView,
    VerifyAudit,
)
from shared.events import Envelope
from shared.logging import get_logger

log = get_logger(__name__)

ACTIVITY_CONSUMER = "profile-account-activity"
# Concurrent appends to one account are rare (one consumer); this bounds a pathological race.
MAX_APPEND_ATTEMPTS = 50
Authenticate = Callable[[SessionRef], Awaitable[SessionView]]


class ActivityContended(ProfileError):
    """Appends kept losing the race for the next place: the event is delivered again later."""

    code = "service_unavailable"
    default_detail = "Hệ thống đang bận, vui lòng thử lại sau."


class ActivityLog:
    def __init__(self, *, store: ActivityStore, key: str, authenticate: Authenticate) -> None:
        self._store = store
        self._key = key
        self._authenticate = authenticate

    # --- the consumer ----------------------------------------------------------------------

    async def on_event(self, event: Envelope) -> None:
        for rule in rules_for(event.type):
            new = await self._entry_for(rule, event)
            if new is not None:
                await self.append(new)

    async def _entry_for(self, rule: ActivityRule, event: Envelope) -> NewEntry | None:
        account_id = rule.account_of(event.payload)
        if account_id is None:
            return None  # e.g. a failed login under a name that is no account
        details = rule.details_of(event.payload)
        if rule.burst:
            window = burst_window(event.occurred_at)
            failures = await self._store.count_failure(account_id, window, event.id)
            if not burst_milestone(failures):
                return None
            details |= {"failures": failures, "window_start": at_text(window)}
        return NewEntry(account_id=account_id, event_id=event.id, kind=rule.kind,
                        at=at_text(event.occurred_at), details=details)

    async def append(self, new: NewEntry) -> None:
        for _ in range(MAX_APPEND_ATTEMPTS):
            if await self._store.has_event(new.account_id, new.event_id):
                return  # a redelivery: the entry is there
            last = await self._store.last(new.account_id)
            entry = chain(self._key, new, seq=last.seq + 1 if last else 1,
                          prev_hash=last.hash if last else GENESIS)
            if await self._store.insert(entry):
                await self._store.advance_head(entry)
                log.info("activity recorded", account_id=entry.account_id, seq=entry.seq,
                         kind=entry.kind)
                return
        raise ActivityContended()

    # --- the owner -------------------------------------------------------------------------

    async def me_activity(self, request: ActivityPage) -> ActivityLogPage:
        caller = await self._authenticate(SessionRef(session_token=request.session_token))
        entries = await self._store.page(caller.account_id, request.limit, request.before)
        page: dict[str, Any] = {"items": [entry_view(e) for e in entries]}
        if len(entries) == request.limit and entries[-1].seq > 1:
            page["next_before"] = entries[-1].seq
        return ActivityLogPage.model_validate(page)

    # --- the operator ----------------------------------------------------------------------

    async def admin_verify_audit(self, command: VerifyAudit) -> AuditVerification:
        """One account, or a page of accounts in id order (``next_after`` for the next)."""
        if command.account_id is not None:
            accounts = [command.account_id]
        else:
            accounts = await self._accounts_after(command.after, command.limit)
        broken: list[dict[str, Any]] = []
        checked = 0
        for account_id in accounts:
            entries = await self._store.after(account_id, 0)
            checked += len(entries)
            found = first_break(self._key, account_id, entries,
                                await self._store.head(account_id))
            if found is not None:
                broken.append({"account_id": found.account_id, "seq": found.seq,
                               "reason": found.reason})
        answer: dict[str, Any] = {"accounts": len(accounts), "entries": checked,
                                  "broken": broken}
        if command.account_id is None and len(accounts) == command.limit:
            answer["next_after"] = accounts[-1]
        return AuditVerification.model_validate(answer)

    async def _accounts_after(self, after: str | None, limit: int) -> list[str]:
        accounts: list[str] = []
        while len(accounts) < limit:
            account_id = await self._store.next_account(accounts[-1] if accounts else after)
            if account_id is None:
                break
            accounts.append(account_id)
        return accounts

    async def admin_export_audit(self, command: ExportAudit) -> AuditExport:
        entries = await self._store.after(command.account_id, command.after_seq, command.limit)
        page: dict[str, Any] = {"items": [export_view(e) for e in entries]}
        if len(entries) == command.limit:
            page["next_after"] = entries[-1].seq
        return AuditExport.model_validate(page)
