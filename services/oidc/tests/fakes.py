"""Fakes of the oidc ports: in memory, with the Mongo adapters' semantics (a code's first use
is decided inside one method without an ``await``, as the server's atomic update)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey

from services.oidc.domain.errors import InvalidClient
from services.oidc.domain.models import AccessToken, Client, Consent, Grant, RefreshToken
from services.oidc.domain.rules import SCOPES


class FakeClients:
    def __init__(self) -> None:
        self.items: dict[str, Client] = {}

    async def get(self, client_id: str) -> Client | None:
        return self.items.get(client_id)

    async def add(self, client: Client) -> None:
        self.items[client.client_id] = client


class FakeGrants:
    def __init__(self) -> None:
        self.items: dict[str, Grant] = {}

    async def add(self, grant: Grant) -> None:
        self.items[grant.code_hash] = grant

    async def void_session(self, session_id: str, now: datetime) -> int:
        voided = 0
        for key, grant in list(self.items.items()):
            if grant.session_id == session_id and grant.used_at is None:
                self.items[key] = dataclasses.replace(grant, used_at=now)
                voided += 1
        return voided

    async def consume(self, code_hash: str, now: datetime) -> tuple[Grant | None, bool]:
        grant = self.items.get(code_hash)
        if grant is None:
            return None, False
        if grant.used_at is None:
            self.items[code_hash] = dataclasses.replace(grant, used_at=now)
            return self.items[code_hash], True
        return grant, False


class FakeTokens:
    def __init__(self) -> None:
        self.items: dict[str, AccessToken] = {}

    async def add(self, token: AccessToken) -> None:
        self.items[token.token_hash] = token

    async def get(self, token_hash: str) -> AccessToken | None:
        return self.items.get(token_hash)

    async def revoke(self, token_hash: str, now: datetime) -> bool:
        token = self.items.get(token_hash)
        if token is None or token.revoked_at is not None:
            return False
        self.items[token_hash] = dataclasses.replace(token, revoked_at=now)
        return True

    async def revoke_session(self, session_id: str, now: datetime) -> int:
        revoked = 0
        for key, token in list(self.items.items()):
            if token.session_id == session_id and token.revoked_at is None:
                self.items[key] = dataclasses.replace(token, revoked_at=now)
                revoked += 1
        return revoked

    async def revoke_grant(self, grant_id: str, now: datetime) -> int:
        revoked = 0
        for key, token in list(self.items.items()):
            if token.grant_id == grant_id and token.revoked_at is None:
                self.items[key] = dataclasses.replace(token, revoked_at=now)
                revoked += 1
        return revoked


class FakeRefreshTokens:
    def __init__(self) -> None:
        self.items: dict[str, RefreshToken] = {}

    async def add(self, token: RefreshToken) -> None:
        self.items[token.token_hash] = token

    async def get(self, token_hash: str) -> RefreshToken | None:
        return self.items.get(token_hash)

    async def use(self, token_hash: str, now: datetime) -> tuple[RefreshToken | None, bool]:
        token = self.items.get(token_hash)
        if token is None:
            return None, False
        if token.used_at is None:
            self.items[token_hash] = dataclasses.replace(token, used_at=now)
            return self.items[token_hash], True
        return token, False

    async def revoke_family(self, family_id: str, now: datetime) -> int:
        return self._revoke(lambda t: t.family_id == family_id, now)

    async def revoke_session(self, session_id: str, now: datetime) -> int:
        return self._revoke(lambda t: t.session_id == session_id, now)

    def _revoke(self, which: Any, now: datetime) -> int:
        revoked = 0
        for key, token in list(self.items.items()):
            if which(token) and token.revoked_at is None:
                self.items[key] = dataclasses.replace(token, revoked_at=now)
                revoked += 1
        return revoked


class FakeKeys:
    def __init__(self, retired_publish: timedelta = timedelta(days=1)) -> None:
        self.keys: list[dict[str, Any]] = []  # {kid, key, active, publish_until}
        self._retired_publish = retired_publish

    async def ensure(self, now: datetime) -> None:
        if not any(k["active"] for k in self.keys):
            self._add()

    async def current(self, now: datetime) -> tuple[str, Any]:
        await self.ensure(now)
        key = [k for k in self.keys if k["active"]][-1]
        return key["kid"], key["key"]

    async def published(self, now: datetime) -> list[dict[str, Any]]:
        return [k["key"].as_dict(private=False) | {"kid": k["kid"], "alg": "ES256", "use": "sig"}
                for k in reversed(self.keys)
                if k["active"] or (k["publish_until"] and k["publish_until"] > now)]

    async def rotate(self, now: datetime) -> str:
        for k in self.keys:
            if k["active"]:
                k["active"] = False
                k["publish_until"] = now + self._retired_publish
        return self._add()

    def _add(self) -> str:
        key = ECKey.generate_key("P-256", private=True)
        kid = key.thumbprint()
        self.keys.append({"kid": kid, "key": key, "active": True, "publish_until": None})
        return kid


class FakeClientKeys:
    """A client's registered JWK Set (the jwks_uri fetch is the adapter's)."""

    async def keyset(self, client: Client) -> Any:
        from services.oidc.adapters.client_keys import _keyset

        if client.jwks is None:
            raise InvalidClient()
        return _keyset(client.jwks)


class FakeAssertionIds:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    async def first_use(self, client_id: str, jti: str, until: datetime) -> bool:
        key = f"{client_id}|{jti}"
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


class FakeSessionClients:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    async def add(self, session_id: str, client_id: str, subject: str, now: datetime) -> None:
        self.items[(session_id, client_id)] = subject

    async def take(self, session_id: str) -> list[tuple[str, str]]:
        found = [(c, s) for (sid, c), s in self.items.items() if sid == session_id]
        for client_id, _ in found:
            del self.items[(session_id, client_id)]
        return found


class FakeNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = False

    async def send(self, uri: str, logout_token: str) -> bool:
        self.sent.append((uri, logout_token))
        return not self.fail


class FakeProfile:
    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, Any]] = {}
        self.ended_sessions: set[str] = set()

    async def session_alive(self, account_id: str, session_id: str) -> bool:
        return session_id not in self.ended_sessions

    async def claims(self, account_id: str) -> dict[str, Any] | None:
        return self.accounts.get(account_id)


class FakePushedRequests:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    async def add(self, uri_hash: str, client_id: str, request: dict[str, Any],
                  created_at: datetime, expires_at: datetime) -> None:
        self.items[uri_hash] = {"client_id": client_id, "request": request,
                                "created_at": created_at, "expires_at": expires_at,
                                "used_at": None}

    async def get(self, uri_hash: str) -> tuple[str, dict[str, Any], datetime, datetime] | None:
        item = self.items.get(uri_hash)
        if item is None or item["used_at"] is not None:
            return None
        return item["client_id"], item["request"], item["created_at"], item["expires_at"]

    async def extend(self, uri_hash: str, until: datetime) -> None:
        item = self.items.get(uri_hash)
        if item is not None and item["used_at"] is None:
            item["expires_at"] = max(item["expires_at"], until)

    async def spend(self, uri_hash: str, now: datetime) -> bool:
        item = self.items.get(uri_hash)
        if item is None or item["used_at"] is not None:
            return False
        item["used_at"] = now
        return True


class FakeConsents:
    """Consents in memory. ``preagreed``: an account with no consent is taken to have agreed
    to every scope (the tests of other rules); the consent tests turn it off."""

    def __init__(self, *, preagreed: bool = False) -> None:
        self.items: dict[tuple[str, str], Consent] = {}
        self.preagreed = preagreed

    async def get(self, account_id: str, client_id: str) -> Consent | None:
        found = self.items.get((account_id, client_id))
        if found is None and self.preagreed:
            return Consent(account_id, client_id, SCOPES, datetime.min, datetime.min)
        return found

    async def grant(self, account_id: str, client_id: str, scopes: tuple[str, ...],
                    now: datetime) -> None:
        known = self.items.get((account_id, client_id))
        self.items[(account_id, client_id)] = Consent(
            account_id, client_id, scopes, known.granted_at if known else now, now)

    async def used(self, account_id: str, client_id: str, now: datetime) -> None:
        if (known := self.items.get((account_id, client_id))) is not None:
            self.items[(account_id, client_id)] = dataclasses.replace(known, last_used_at=now)

    async def of_account(self, account_id: str) -> list[Consent]:
        return [c for (account, _), c in self.items.items() if account == account_id]

    async def forget(self, account_id: str, client_id: str) -> bool:
        return self.items.pop((account_id, client_id), None) is not None


class FakeClientGrants:
    """Ends an account's tokens at a client in the fake token stores."""

    def __init__(self, tokens: Any, refresh_tokens: Any) -> None:
        self._tokens = tokens
        self._refresh = refresh_tokens

    async def revoke(self, account_id: str, client_id: str, now: datetime) -> int:
        ended = 0
        for store in (self._tokens, self._refresh):
            for key, token in list(store.items.items()):
                if (token.account_id == account_id and token.client_id == client_id
                        and token.revoked_at is None):
                    store.items[key] = dataclasses.replace(token, revoked_at=now)
                    ended += 1
        return ended
