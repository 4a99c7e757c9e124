"""``stage_credential``: registration hands profile a new account's password (domain/
credentials.py); profile hashes it in its argon2 pool and keeps the hash until the
AccountCreated that names ``credential_id`` takes it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from services.profile.domain.credentials import StagedCredential, parse_stage
from services.profile.domain.ports import StagedCredentials
from shared import crypto
from shared.clock import Clock
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

    async def stage_credential(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        command = parse_stage(payload)
        password_hash = await self._hash_password(command.password)
        now = self._clock()
        staged = StagedCredential(credential_id=self._new_id(),
                                  registration_id=command.registration_id,
                                  password_hash=password_hash, created_at=now,
                                  expires_at=now + self._lifetime)
        await self._credentials.add(staged)
        log.info("credential staged", registration_id=command.registration_id,
                 credential_id=staged.credential_id)
        return {"credential_id": staged.credential_id}
