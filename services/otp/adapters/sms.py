"""SMS through Twilio's official SDK (Messages API), the real adapter in every environment.

In dev and tests ``twilio_api_base`` points the SDK at the sandbox world's Twilio-compatible
endpoint: the SDK builds ``https://api.twilio.com/...`` URLs and our http client rewrites them
to ``{twilio_api_base}/...``. Everything else (auth, form encoding, error parsing) is the
SDK's own, so the same code path runs against the real Twilio.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from services.otp.domain.ports import SmsDeliveryError
from shared import tracing
from shared.logging import get_logger
from shared.tracing import SpanKind

log = get_logger(__name__)

# The SDK logs every request line at INFO; ours say what matters, once, with data masked.
_sdk_logger = logging.getLogger("dvcid.otp.twilio")
_sdk_logger.setLevel(logging.WARNING)

# Statuses worth another attempt: Twilio overloaded or rate limiting us.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_BACKOFF = (0.2, 0.6)  # seconds before the 2nd and 3rd attempt
REQUEST_TIMEOUT = ClientTimeout(total=10)

Sleep = Callable[[float], Awaitable[None]]


def rewrite_url(url: str, api_base: str | None) -> str:
    """``https://api.twilio.com/2010-04-01/...`` → ``{api_base}/2010-04-01/...``."""
    if not api_base:
        return url
    parts = urlsplit(url)
    if not (parts.hostname or "").endswith("twilio.com"):
        return url
    query = f"?{parts.query}" if parts.query else ""
    return f"{api_base.rstrip('/')}{parts.path}{query}"


class RedirectableTwilioHttpClient(AsyncTwilioHttpClient):
    """The SDK's aiohttp client, with one pooled session and an optional base URL."""

    def __init__(self, api_base: str | None = None) -> None:
        super().__init__(pool_connections=False, logger=_sdk_logger)
        self.api_base = api_base
        # Created here, once: the process reuses its connection pool for every SMS.
        self.session = ClientSession(timeout=REQUEST_TIMEOUT)

    async def request(self, method: str, url: str, params: dict[str, object] | None = None,
                      data: dict[str, object] | None = None,
                      headers: dict[str, str] | None = None,
                      auth: tuple[str, str] | None = None, timeout: float | None = None,
                      allow_redirects: bool = False) -> Response:
        if auth is not None:
            # The same Basic header the SDK would send, without aiohttp's deprecated BasicAuth.
            headers = {**(headers or {}), "Authorization": _basic(*auth)}
        return await super().request(method, rewrite_url(url, self.api_base), params=params,
                                     data=data, headers=headers, auth=None, timeout=timeout,
                                     allow_redirects=allow_redirects)


class TwilioSmsSender:
    """Implements the SmsSender port. Create it once per process and ``close()`` on stop."""

    def __init__(self, account_sid: str, auth_token: str, sender: str,
                 api_base: str | None = None, backoff: tuple[float, ...] = DEFAULT_BACKOFF,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._http = RedirectableTwilioHttpClient(api_base)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        self._sender = sender
        self._backoff = backoff
        self._sleep = sleep

    async def send(self, to_e164: str, body: str) -> None:
        # A CLIENT span per SMS (its retries inside) with Twilio's answer code, nothing sent.
        with tracing.span("sms.send", SpanKind.CLIENT, {"peer.service": "twilio"}) as current:
            try:
                await self._send(to_e164, body)
            except SmsDeliveryError as exc:
                tracing.set_attributes(current, {"dvcid.provider_answer": provider_answer(exc)})
                raise
            tracing.set_attributes(current, {"dvcid.provider_answer": "accepted"})

    async def _send(self, to_e164: str, body: str) -> None:
        attempts = len(self._backoff) + 1
        for attempt in range(1, attempts + 1):
            try:
                message = await self._client.messages.create_async(
                    to=to_e164, from_=self._sender, body=body)
            except (TwilioRestException, TwilioServiceException) as exc:
                error = SmsDeliveryError(_reason(exc), status=exc.status,
                                         provider_code=_int_or_none(exc.code))
                retryable = exc.status in RETRYABLE_STATUSES
            except (ClientError, TimeoutError) as exc:
                error = SmsDeliveryError(f"network: {type(exc).__name__}")
                retryable = True
            else:
                log.info("sms accepted", sid=message.sid, status=message.status)
                return
            if not retryable or attempt == attempts:
                raise error
            log.warning("sms attempt failed; retrying", attempt=attempt, status=error.status,
                        twilio_error=error.provider_code)
            await self._sleep(self._backoff[attempt - 1])

    async def close(self) -> None:
        await self._http.close()


def provider_answer(error: SmsDeliveryError) -> str:
    """What the provider answered, as a code: Twilio's error code, else the HTTP status, else
    ``network`` (no answer)."""
    if error.provider_code is not None:
        return str(error.provider_code)
    return str(error.status) if error.status is not None else "network"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _reason(exc: Any) -> str:
    # The message of a Twilio error names the problem, never the body we sent.
    text = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", "")
    return f"twilio {exc.status} ({exc.code}): {text}"[:300]


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
