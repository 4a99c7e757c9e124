"""The password rule's owner at work for the other services (issue 16).

- ``stage_credential``: registration hands profile a new account's password with its
  confirmation, the ID number and the phone; profile checks its rule (domain/password_policy),
  then the confirmation, then hashes it in its argon2 pool and keeps the hash until the
  AccountCreated that names ``credential_id`` takes it (domain/credentials.py, issue 11).
- ``password_policy``: the rule as the pages show it, from its owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from services.profile.domain import password_policy
from services.profile.domain.credentials import StagedCredential
from services.profile.domain.errors import ConfirmationMismatch, PasswordMismatch, PasswordPolicy
from services.profile.domain.models import Account
from services.profile.domain.ports import StagedCredentials
from shared import crypto
from shared.clock import Clock
from shared.contracts.base import Empty
from shared.contracts.profile import (
    PasswordPolicyView,
    PasswordRule,
    StageCredential,
    StagedCredentialRef,
)
from shared.logging import get_logger

log = get_logger(__name__)


class CredentialStaging:
    def __init__(self, *, credentials: StagedCredentials, clock: Clock, lifetime: timedelta,
                 hash_password: Callable[[str], Awaitable[str]] = crypto.hash_password,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self._credentials = credentials
        self._clock = clock
        self._lifetime = lifetime
        self._hash_password = hash_password
        self._new_id = new_id

    async def stage_credential(self, request: StageCredential) -> StagedCredentialRef:
        # The rule first, then the confirmation: the order registration always answered in.
        problems = password_policy.problems(request.password, id_number=request.id_number,
                                            phones=[request.phone])
        if problems:
            raise PasswordPolicy(problems)
        if request.password != request.password_confirmation:
            raise ConfirmationMismatch()
        password_hash = await self._hash_password(request.password)
        now = self._clock()
        staged = StagedCredential(credential_id=self._new_id(),
                                  registration_id=request.registration_id,
                                  password_hash=password_hash, created_at=now,
                                  expires_at=now + self._lifetime)
        await self._credentials.add(staged)
        log.info("credential staged", registration_id=request.registration_id,
                 credential_id=staged.credential_id)
        return StagedCredentialRef(credential_id=staged.credential_id)


async def password_policy_view(_: Empty) -> PasswordPolicyView:
    return PasswordPolicyView(
        rules=[PasswordRule(id=rule, text=text) for rule, text in password_policy.RULES.items()],
        min_length=password_policy.MIN_LENGTH, max_length=password_policy.MAX_LENGTH)


class NewPasswords:
    """A password an account sets again (forgotten password, first login of a post-office
    account, a change from the settings): the rule against the account's ID number and
    phones, then the confirmation, then the hash."""

    def __init__(self, hash_password: Callable[[str], Awaitable[str]] = crypto.hash_password
                 ) -> None:
        self._hash_password = hash_password

    async def checked_hash(self, account: Account, password: str, confirmation: str,
                           field: str = "password") -> str:
        problems = password_policy.problems(password, id_number=account.id_number,
                                            phones=[p.phone for p in account.phones])
        if problems:
            raise PasswordPolicy(problems, field=field)
        if password != confirmation:
            raise PasswordMismatch()
        return await self._hash_password(password)
