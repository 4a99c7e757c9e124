"""What the use cases need from the outside, as Protocols (Mongo adapters in ``adapters/``,
fakes in ``tests/fakes.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from services.oidc.domain.models import AccessToken, Client, Consent, Grant, RefreshToken


class Clients(Protocol):
    async def get(self, client_id: str) -> Client | None: ...

    async def add(self, client: Client) -> None: ...


class Grants(Protocol):
    async def add(self, grant: Grant) -> None: ...

    async def void_session(self, session_id: str, now: datetime) -> int:
        """Marks every unused code of a session used (the session ended): none is exchanged
        after. Answers how many."""
        ...

    async def consume(self, code_hash: str, now: datetime) -> tuple[Grant | None, bool]:
        """The grant of a code and whether this call was its first use (one atomic update:
        of two parallel uses exactly one is first). ``(None, False)``: no such code."""
        ...


class AccessTokens(Protocol):
    async def add(self, token: AccessToken) -> None: ...

    async def get(self, token_hash: str) -> AccessToken | None: ...

    async def revoke_grant(self, grant_id: str, now: datetime) -> int:
        """Revokes every token issued from a grant; answers how many."""
        ...

    async def revoke(self, token_hash: str, now: datetime) -> bool:
        """Revokes one token; whether it was live."""
        ...

    async def revoke_session(self, session_id: str, now: datetime) -> int:
        """Revokes every token issued under a dvcid session; answers how many."""
        ...


class SigningKeys(Protocol):
    """The provider's signing keys: the private halves sealed at rest."""

    async def ensure(self, now: datetime) -> None:
        """Makes the first key if there is none."""
        ...

    async def current(self, now: datetime) -> tuple[str, Any]:
        """The active key's kid and its private joserfc key."""
        ...

    async def published(self, now: datetime) -> list[dict[str, Any]]:
        """The public JWKs of the active key and the retired ones still published."""
        ...

    async def rotate(self, now: datetime) -> str:
        """A new active key; the previous ones stay published for a while. Its kid."""
        ...


class RefreshTokens(Protocol):
    async def add(self, token: RefreshToken) -> None: ...

    async def get(self, token_hash: str) -> RefreshToken | None: ...

    async def use(self, token_hash: str, now: datetime) -> tuple[RefreshToken | None, bool]:
        """The token and whether this call was its first use (one atomic update)."""
        ...

    async def revoke_family(self, family_id: str, now: datetime) -> int: ...

    async def revoke_session(self, session_id: str, now: datetime) -> int: ...


class SessionClients(Protocol):
    """Which clients a dvcid session signed in to (for back-channel logout)."""

    async def add(self, session_id: str, client_id: str, subject: str, now: datetime) -> None: ...

    async def take(self, session_id: str) -> list[tuple[str, str]]:
        """The (client_id, subject) pairs of an ended session, forgotten as they are read."""
        ...


class LogoutNotifier(Protocol):
    async def send(self, uri: str, logout_token: str) -> bool:
        """POSTs a logout token to a client's back-channel URI: whether it took it (2xx)."""
        ...


class ClientKeys(Protocol):
    async def keyset(self, client: Client) -> Any:
        """The joserfc KeySet of a private_key_jwt client (its ``jwks``, or fetched from its
        ``jwks_uri``); raises ``InvalidClient`` when they cannot be had."""
        ...


class AssertionIds(Protocol):
    async def first_use(self, client_id: str, jti: str, until: datetime) -> bool:
        """Records a client assertion's ``jti`` until it expires: False if already seen."""
        ...


class Profile(Protocol):
    async def claims(self, account_id: str) -> dict[str, Any] | None:
        """Profile's ``oidc_claims`` answer for the account; None: no such account."""
        ...

    async def session_alive(self, account_id: str, session_id: str) -> bool:
        """Whether the account's dvcid session is still alive (not revoked, not idle or
        absolutely expired)."""
        ...


class PushedRequests(Protocol):
    """RFC 9126 pushed authorization requests, kept under a hash of their ``request_uri``."""

    async def add(self, uri_hash: str, client_id: str, request: dict[str, Any],
                  created_at: datetime, expires_at: datetime) -> None: ...

    async def get(self, uri_hash: str) -> tuple[str, dict[str, Any], datetime, datetime] | None:
        """(client_id, request, created_at, expires_at) of an unspent pushed request."""
        ...

    async def extend(self, uri_hash: str, until: datetime) -> None:
        """Keeps an unspent request until ``until`` (the browser went to log in)."""
        ...

    async def spend(self, uri_hash: str, now: datetime) -> bool:
        """Marks it used (one atomic update): whether this call was its first use."""
        ...


class Consents(Protocol):
    """What each account agreed to give each client (collection ``consents``)."""

    async def get(self, account_id: str, client_id: str) -> Consent | None: ...

    async def grant(self, account_id: str, client_id: str, scopes: tuple[str, ...],
                    now: datetime) -> None:
        """Records a consent to ``scopes`` (the first one also sets ``granted_at``)."""
        ...

    async def used(self, account_id: str, client_id: str, now: datetime) -> None:
        """A code was issued under the consent (its ``last_used_at``)."""
        ...

    async def of_account(self, account_id: str) -> list[Consent]: ...

    async def forget(self, account_id: str, client_id: str) -> bool:
        """Deletes the consent; whether there was one."""
        ...


class ClientGrants(Protocol):
    """An account's tokens at one client, ended when its consent is revoked."""

    async def revoke(self, account_id: str, client_id: str, now: datetime) -> int:
        """Revokes the account's access and refresh tokens issued to the client; how many."""
        ...
