"""The first login of a post-office account (and of an operator-made one): its one-time
password is changed before the OTP step (``password_change_required``), and the new
password is saved only when that OTP is verified (``PasswordLogin.submit_otp``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from services.profile.domain.errors import FlowState, NotFound
from services.profile.domain.models import Account, LoginFlow
from services.profile.domain.ports import OtpService, Store
from services.profile.handlers.common import ProfilePolicy
from services.profile.handlers.credentials import NewPasswords
from services.profile.handlers.guard import LoginGuard
from services.profile.handlers.login.password import LOGIN_PURPOSE
from shared import crypto
from shared.clock import Clock
from shared.contracts.profile import FirstPassword, OtpRedirected
from shared.phones import mask_phone


class FirstLogin:
    def __init__(self, *, store: Store, otp: OtpService, clock: Clock, policy: ProfilePolicy,
                 guard: LoginGuard,
                 hash_password: Callable[[str], Awaitable[str]] = crypto.hash_password) -> None:
        self._store = store
        self._otp = otp
        self._clock = clock
        self._policy = policy
        self._guard = guard
        self._passwords = NewPasswords(hash_password)

    async def login_change_password(self, command: FirstPassword) -> OtpRedirected:
        flow = await self._login(command.id, command.flow_token)
        now = self._clock()
        flow.ensure_readable(now)
        if flow.status != "password_change_required":
            raise FlowState()
        account = await self._account(flow.account_id)
        password_hash = await self._passwords.checked_hash(
            account, command.new_password, command.new_password_confirmation,
            field="new_password")
        # Kept in the flow, not saved: whoever holds only the one-time password (not the
        # phone) must not be able to choose the account's password. The OTP step saves it.
        if not await self._store.logins.stage_password(flow.flow_id, password_hash, now):
            raise FlowState()
        await self._guard.allow_otp_send(command.ip)
        sent = await self._otp.issue(flow.otp_key(), LOGIN_PURPOSE, flow.phone)
        return OtpRedirected(status="otp_sent", phone_masked=mask_phone(flow.phone),
                             resend_available_at=sent.resend_available_at)

    async def _account(self, account_id: str) -> Account:
        account = await self._store.accounts.get(account_id)
        if account is None:
            raise NotFound()
        return account

    async def _login(self, flow_id: str, token: str) -> LoginFlow:
        flow = await self._store.logins.get(flow_id)
        if flow is None or not crypto.same(self._policy.flow_hash(token), flow.flow_token_hash):
            raise NotFound()
        return flow
