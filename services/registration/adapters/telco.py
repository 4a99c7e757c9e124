"""Client of the telco subscriber registry (contract: docs/external/telco-registry.md).

``POST {telco_url}/v1/subscribers/lookup`` with a bearer key and ``{"phone": "<E.164>"}`` →
200 the record, 404 no such subscriber. The phone travels in the body, never in the URL:
URLs end up in access logs, proxies' and our HTTP client's. Anything else (unreachable,
timeout, 5xx, a reply that breaks the contract) is ``external_unavailable``: the registry
could not say, which is not a "no".
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from services.registration.domain.errors import ExternalUnavailable
from services.registration.domain.model import Subscriber
from shared import tracing
from shared.http import retrying_transport
from shared.logging import get_logger
from shared.tracing import SpanKind

log = get_logger(__name__)

DEFAULT_TIMEOUT_SECONDS = 5.0
UNAVAILABLE_DETAIL = (
    "Không kết nối được cơ sở dữ liệu thuê bao của nhà mạng để xác minh số điện thoại. "
    "Vui lòng thử lại sau ít phút."
)


def create_client(base_url: str, api_key: str,
                  timeout: float = DEFAULT_TIMEOUT_SECONDS) -> httpx.AsyncClient:
    """One client per process: it keeps the connections to the registry alive."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        timeout=httpx.Timeout(timeout),
        # Retries a failed connection, or one the registry closed while it sat in the pool:
        # a lookup is safe to repeat.
        transport=retrying_transport(lookups_only=True),
    )


class HttpSubscriberRegistry:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def find(self, phone: str) -> Subscriber | None:
        # A CLIENT span with who was asked and whether they knew the person, nothing more.
        with tracing.span("telco.lookup", SpanKind.CLIENT, {"peer.service": "telco"}) as current:
            found = await self._lookup(phone)
            tracing.set_attributes(current, {"dvcid.outcome": "found" if found else "not_found"})
            return found

    async def _lookup(self, phone: str) -> Subscriber | None:
        try:
            response = await self._client.post("v1/subscribers/lookup", json={"phone": phone})
        except httpx.HTTPError as exc:
            log.warning("telco registry unreachable", error=type(exc).__name__)
            raise ExternalUnavailable(UNAVAILABLE_DETAIL) from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            # 401/403 means our key is wrong: an operator must see it, the user must not.
            log.error("telco registry refused", status=response.status_code)
            raise ExternalUnavailable(UNAVAILABLE_DETAIL)
        try:
            return _subscriber(response.json())
        except (ValueError, KeyError, TypeError) as exc:
            # The kind of fault, never its text: that may quote a value of the record.
            log.error("telco registry answered outside its contract", error=type(exc).__name__)
            raise ExternalUnavailable(UNAVAILABLE_DETAIL) from exc


def _subscriber(body: Any) -> Subscriber:
    if not isinstance(body, dict):
        raise TypeError("body is not an object")
    birth_date = body.get("birth_date")
    return Subscriber(
        phone=str(body["phone"]),
        id_number=str(body["id_number"]),
        full_name=str(body["full_name"]),
        birth_date=date.fromisoformat(birth_date) if birth_date else None,
        status=str(body.get("status") or "active"),
    )
