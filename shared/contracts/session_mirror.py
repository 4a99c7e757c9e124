"""The session mirror (issue 13): the shapes of the NATS key-value bucket in which profile, the
owner of sessions, publishes what a gateway needs to answer "who is this session?" without a
round trip, and of the one endpoint by which gateways hand back the idle touches they coalesced.

Keys (profile writes them, gateways read and watch them, nobody else: ``dvcid/nats_auth.py``):

- ``t.<sha256(token)>`` → the session id (:class:`MirroredToken`). Session tokens are 256-bit
  random values, so a plain SHA-256 is safe: a reader of the bucket cannot forge a token, and a
  gateway computes the key from the token the client sends.
- ``s.<session_id>`` → the session's state (:class:`MirroredSession`): account, level, absolute
  and idle expiry, the idle length, a revoked marker. A revoked marker is never overwritten.
- ``a.<account_id>`` → the version of what ``me`` shows (:class:`MirroredAccount`): a gateway
  keeps profile's ``me`` answer per account as long as the version it was read under stands.

No personal data goes in the bucket (names, ID numbers, phones stay in profile's database), and
the bucket's max age is the absolute session lifetime, so nothing outlives a session.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from pydantic import Field

from shared.contracts.base import Contract, Empty, Rpc
from shared.contracts.fields import Identifier

SESSIONS_BUCKET = "DVCID_SESSIONS"
# The flush period of the gateways' coalesced idle touches, and the most they batch at once.
TOUCH_FLUSH_SECONDS = 2.0
MAX_TOUCHES = 1000


def token_key(token: str) -> str:
    return f"t.{hashlib.sha256(token.encode()).hexdigest()}"


def session_key(session_id: str) -> str:
    return f"s.{session_id}"


def account_key(account_id: str) -> str:
    return f"a.{account_id}"


class MirroredToken(Contract):
    session_id: str


class MirroredSession(Contract):
    account_id: str
    session_id: str
    level: int
    expires_at: datetime
    idle_expires_at: datetime
    idle_seconds: float
    revoked: bool = False


class MirroredAccount(Contract):
    version: str


class SessionTouch(Contract):
    """A session a gateway saw in use (answered from its mirror) and when, last."""

    session_id: Identifier
    seen_at: datetime


class SessionTouches(Contract):
    touches: Annotated[list[SessionTouch], Field(max_length=MAX_TOUCHES)]


SESSIONS_TOUCH = Rpc("profile", "sessions_touch", SessionTouches, Empty)
