"""profile's own client of the telco subscriber registry (docs/external/telco-registry.md),
for the lost OTP phone: ``POST {telco_url}/v1/subscribers/lookup`` ``{"phone": "<E.164>"}``
with a bearer key → 200 the record, 404 no such subscriber; anything else is
``external_unavailable``. The phone goes in the body: URLs end up in access logs."""

from __future__ import annotations

from typing import Any

import httpx

from services.profile.domain.errors import ExternalUnavailable
from services.profile.domain.models import Subscriber
from shared import tracing
from shared.http import retrying_transport
from shared.logging import get_logger
from shared.tracing import SpanKind

log = get_logger(__name__)


def create_client(base_url: str, api_key: str, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        timeout=httpx.Timeout(timeout),
        # A failed connect or a closed pooled connection: a lookup is safe to repeat.
        transport=retrying_transport(lookups_only=True),
    )


class HttpSubscriberRegistry:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def find(self, phone: str) -> Subscriber | None:
        # A CLIENT span with who was asked and whether they knew the phone, nothing more.
        with tracing.span("telco.lookup", SpanKind.CLIENT, {"peer.service": "telco"}) as current:
            found = await self._lookup(phone)
            tracing.set_attributes(current, {"dvcid.outcome": "found" if found else "not_found"})
            return found

    async def _lookup(self, phone: str) -> Subscriber | None:
        try:
            response = await self._client.post("v1/subscribers/lookup", json={"phone": phone})
        except httpx.HTTPError as exc:
            log.warning("telco registry unreachable", error=type(exc).__name__)
            raise ExternalUnavailable() from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            log.error("telco registry refused", status=response.status_code)
            raise ExternalUnavailable()
        try:
            return _subscriber(response.json())
        except (ValueError, KeyError, TypeError) as exc:
            # The kind of fault, never its text: that may quote a value of the record.
            log.error("telco registry answered outside its contract", error=type(exc).__name__)
            raise ExternalUnavailable() from exc

    async def close(self) -> None:
        await self._client.aclose()


def _subscriber(body: Any) -> Subscriber:
    if not isinstance(body, dict):
        raise TypeError("body is not an object")
    return Subscriber(phone=str(body["phone"]), id_number=str(body["id_number"]),
                      full_name=str(body["full_name"]),
                      birth_date=str(body["birth_date"]) if body.get("birth_date") else None,
                      status=str(body.get("status") or "active"))
