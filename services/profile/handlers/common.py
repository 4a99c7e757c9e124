"""What the use cases of every flow share: their policy (secrets, lifetimes) and the
injected functions (password hashing and checking, ids, tokens)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.profile.domain.models import SessionPolicy
from shared import crypto

PasswordVerifier = Callable[[str | None, str], Awaitable[bool]]
PasswordHasher = Callable[[str], Awaitable[str]]


@dataclass(frozen=True)
class ProfilePolicy:
    session_secret: str
    flow_secret: str
    session: SessionPolicy
    login_flow_ttl: timedelta

    def flow_hash(self, token: str) -> str:
        """What a flow keeps of its token (the X-Flow-Token): a keyed hash."""
        return crypto.keyed_hash(self.flow_secret, token)

    def session_hash(self, token: str) -> str:
        return crypto.keyed_hash(self.session_secret, token)


def new_id() -> str:
    return str(uuid.uuid4())


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
