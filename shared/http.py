"""The transport of every outgoing HTTP client (gateway → sandbox, services → registries,
CAs, the SIM signature provider).

A pooled keep-alive connection can be closed by the server at any moment (its idle timeout,
or uvicorn dropping the connection after an unhandled error); the next request sent on it
fails with a read error before any answer. Such a request is retried once on a fresh
connection when repeating it is safe (RFC 9110 §9.2.2: an idempotent method, or a request
carrying an ``Idempotency-Key``, as Go's net/http also decides); a connection that was never
made is retried for any request, since nothing reached the server.
"""

from __future__ import annotations

import httpx

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
IDEMPOTENCY_HEADERS = ("idempotency-key", "x-idempotency-key")
# The request may have reached the server: repeat it only when that is harmless.
_MAYBE_SENT = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


def replayable(request: httpx.Request) -> bool:
    return request.method in IDEMPOTENT_METHODS or any(
        header in request.headers for header in IDEMPOTENCY_HEADERS)


class RetryingTransport(httpx.AsyncBaseTransport):
    """Retries once: a connect error always, a closed connection for replayable requests."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, lookups_only: bool = False) -> None:
        self._inner = inner
        self._lookups_only = lookups_only

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except httpx.ConnectError:
            pass
        except _MAYBE_SENT:
            if not (self._lookups_only or replayable(request)):
                raise
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def retrying_transport(inner: httpx.AsyncBaseTransport | None = None, *,
                       lookups_only: bool = False) -> httpx.AsyncBaseTransport:
    """``lookups_only``: every call of this client only reads (a registry lookup or an OCSP
    query sent as POST), so any of them may be repeated."""
    return RetryingTransport(inner or httpx.AsyncHTTPTransport(), lookups_only=lookups_only)
