"""A private_key_jwt client's public keys: the JWK Set it registered, or the one it publishes
at its ``jwks_uri`` (fetched over HTTPS, kept 5 minutes)."""

from __future__ import annotations

import time
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from services.oidc.domain.errors import InvalidClient, OidcError
from services.oidc.domain.models import Client
from services.oidc.domain.rules import check_public_jwks

CACHE_SECONDS = 300.0
MAX_JWKS_BYTES = 64_000


class HttpClientKeys:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._cache: dict[str, tuple[float, KeySet]] = {}

    async def keyset(self, client: Client) -> Any:
        if client.jwks is not None:
            return _keyset(client.jwks)
        if client.jwks_uri is None:
            raise InvalidClient()
        cached = self._cache.get(client.jwks_uri)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            response = await self._http.get(client.jwks_uri)
            response.raise_for_status()
            if len(response.content) > MAX_JWKS_BYTES:
                raise InvalidClient("jwks_uri trả về quá lớn.")
            document = response.json()
        except (httpx.HTTPError, ValueError):
            raise InvalidClient("Không đọc được jwks_uri của ứng dụng.") from None
        if not isinstance(document, dict):
            raise InvalidClient("jwks_uri không trả về một JWK Set.")
        keys = _keyset(document)
        self._cache[client.jwks_uri] = (time.monotonic(), keys)
        return keys

    async def close(self) -> None:
        await self._http.aclose()


def _keyset(document: dict[str, Any]) -> KeySet:
    try:
        check_public_jwks(document)
        return KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, OidcError, ValueError, TypeError, KeyError) as exc:
        # OidcError: check_public_jwks refused a private key published as the client's.
        raise InvalidClient("JWK Set của ứng dụng không hợp lệ.") from exc


class HttpLogoutNotifier:
    """Back-channel logout: the logout token POSTed as a form (OpenID Connect Back-Channel
    Logout 1.0, 2.5); a client that does not answer 2xx in 5 seconds is logged, not retried."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def send(self, uri: str, logout_token: str) -> bool:
        try:
            response = await self._http.post(uri, data={"logout_token": logout_token},
                                             headers={"Cache-Control": "no-store"})
        except httpx.HTTPError:
            return False
        return response.is_success
