"""In-memory fakes of the account-management ports (``domain/account_management.py``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from services.profile.domain.account_management import MethodFlow
from services.profile.domain.certificate_login import CertificateProof
from services.profile.domain.errors import PkiRejected
from services.profile.domain.models import AuthMethod, Phone, Session
from services.profile.domain.step_up import StepUp
from services.profile.tests.fakes import FakeStore, FakeUnitOfWork


class FakeManagedAccounts:
    def __init__(self, store: FakeStore) -> None:
        self._rows = store.accounts.rows
        self.former_phones: dict[str, list[Phone]] = {}
        self.former_emails: dict[str, str] = {}  # event id → the address it replaced

    async def keep_former_email(self, account_id: str, email: str, event_id: str,
                                now: datetime) -> None:
        self.former_emails[event_id] = email

    async def notice_email(self, account_id: str, event_id: str) -> str | None:
        account = self._rows.get(account_id)
        return self.former_emails.get(event_id) or (account.email if account else None)

    async def keep_former_phone(self, account_id: str, phone: Phone, now: datetime) -> None:
        self.former_phones.setdefault(account_id, []).append(phone)

    async def phone_numbers(self, account_id: str, phone_ids: list[str]) -> dict[str, str]:
        account = self._rows.get(account_id)
        known = [*self.former_phones.get(account_id, []), *(account.phones if account else [])]
        return {p.phone_id: p.phone for p in known if p.phone_id in phone_ids}

    async def update_contacts(self, account_id: str, changes: dict[str, str | None]) -> bool:
        account = self._rows.get(account_id)
        if account is None:
            return False
        for name, value in changes.items():
            setattr(account, name, value)
        return True

    async def add_phone_method(self, account_id: str, method: AuthMethod, phone: str,
                               now: datetime, max_phones: int) -> bool:
        account = self._rows[account_id]
        if len(account.phones) >= max_phones or any(p.phone == phone for p in account.phones):
            return False
        assert method.phone_id is not None
        account.phones.append(Phone(method.phone_id, phone, otp=True, added_at=now))
        account.auth_methods.append(method)
        return True

    async def add_certificate_method(self, account_id: str, method: AuthMethod,
                                     level: int) -> bool:
        account = self._rows[account_id]
        account.auth_methods.append(method)
        account.level = max(account.level, level)
        return True

    async def remove_method(self, account_id: str, method: AuthMethod,
                            expected_method_ids: list[str]) -> bool:
        account = self._rows[account_id]
        if sorted(m.method_id for m in account.auth_methods) != sorted(expected_method_ids):
            return False
        account.auth_methods = [m for m in account.auth_methods
                                if m.method_id != method.method_id]
        account.phones = [p for p in account.phones if p.phone_id != method.phone_id]
        return True

    async def owner_of_fingerprint(self, fingerprint_sha256: str) -> str | None:
        return next((a.account_id for a in self._rows.values() for m in a.auth_methods
                     if m.details.get("fingerprint_sha256") == fingerprint_sha256), None)


class FakeManagedSessions:
    def __init__(self, store: FakeStore) -> None:
        self._rows = store.sessions.rows

    async def active(self, account_id: str, now: datetime) -> list[Session]:
        live = [s for s in self._rows.values()
                if s.account_id == account_id and s.is_active(now)]
        return sorted(live, key=lambda s: s.created_at, reverse=True)

    async def revoke_one(self, account_id: str, session_id: str,
                         now: datetime) -> Session | None:
        s = self._rows.get(session_id)
        if s is None or s.account_id != account_id or not s.is_active(now):
            return None
        s.revoked_at = now
        return dataclasses.replace(s)

    async def revoke_others(self, account_id: str, keep_session_id: str,
                            now: datetime) -> list[Session]:
        live = [s for s in self._rows.values() if s.account_id == account_id
                and s.revoked_at is None and s.session_id != keep_session_id]
        for s in live:
            s.revoked_at = now
        return live

    async def mark_reauthenticated(self, session_id: str, at: datetime, level: int) -> bool:
        s = self._rows.get(session_id)
        if s is None or s.revoked_at is not None:
            return False
        s.reauthenticated_at, s.reauthenticated_level = at, level
        return True


class FakeStepUps:
    def __init__(self) -> None:
        self.rows: dict[str, StepUp] = {}

    async def add(self, flow: StepUp) -> None:
        self.rows[flow.flow_id] = dataclasses.replace(flow)

    async def get(self, flow_id: str) -> StepUp | None:
        flow = self.rows.get(flow_id)
        return dataclasses.replace(flow) if flow else None

    async def finish(self, flow_id: str, from_status: str, to_status: str, now: datetime, *,
                     code: str | None = None) -> bool:
        flow = self.rows.get(flow_id)
        if flow is None or flow.status != from_status or (
                to_status == "completed" and now >= flow.expires_at):
            return False
        flow.status = to_status  # type: ignore[assignment]
        flow.code = code or flow.code
        return True


class FakeMethodFlows:
    def __init__(self) -> None:
        self.rows: dict[str, MethodFlow] = {}

    async def add(self, flow: MethodFlow) -> None:
        self.rows[flow.flow_id] = dataclasses.replace(flow)

    async def get(self, flow_id: str) -> MethodFlow | None:
        flow = self.rows.get(flow_id)
        return dataclasses.replace(flow) if flow else None

    async def finish(self, flow_id: str, from_status: str, to_status: str, now: datetime, *,
                     method_id: str | None = None, code: str | None = None) -> bool:
        flow = self.rows.get(flow_id)
        if flow is None or flow.status != from_status or (
                to_status == "completed" and now >= flow.expires_at):
            return False
        flow.status = to_status  # type: ignore[assignment]
        flow.method_id, flow.code = method_id or flow.method_id, code or flow.code
        return True


class FakeAccountUnitOfWork(FakeUnitOfWork):
    def __init__(self, store: FakeStore, flows: FakeMethodFlows,
                 step_ups: FakeStepUps | None = None,
                 accounts: FakeManagedAccounts | None = None) -> None:
        super().__init__(store)
        self.managed_accounts = accounts or FakeManagedAccounts(store)
        self.managed_sessions = FakeManagedSessions(store)
        self.method_flows = flows
        self.step_ups = step_ups or FakeStepUps()

    async def __aenter__(self) -> FakeAccountUnitOfWork:
        return self


class FakePki:
    """Vouches for ``proof`` on every signature (or SIM poll once ``approved``)."""

    def __init__(self, proof: CertificateProof) -> None:
        self.proof = proof
        self.approved = False
        self.refusal: PkiRejected | None = None

    async def challenge(self, flow_id: str, purpose: str) -> dict[str, Any]:
        return {"challenge": "Y2hhbGxlbmdl", "expires_at": "2026-01-01T00:05:00+00:00"}

    async def verify_signature(self, flow_id: str, purpose: str, certificate: str,
                               chain: list[str] | str | None,
                               signature: str) -> CertificateProof:
        if self.refusal:
            raise self.refusal
        return self.proof

    async def sim_start(self, flow_id: str, purpose: str, phone: str) -> dict[str, Any]:
        return {"verification_code": "1234", "status": "pending"}

    async def sim_status(self, flow_id: str, purpose: str) -> CertificateProof | None:
        if self.refusal:
            raise self.refusal
        return self.proof if self.approved else None
