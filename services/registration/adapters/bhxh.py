"""Client of the BHXH (social insurance) registry (contract: docs/external/bhxh-registry.md).

``POST {bhxh_url}/v1/insured/lookup`` with a bearer key and ``{"bhxh_code": "<10 digits>"}``
→ 200 the record, 404 no such code. The code travels in the body, never in the URL (URLs end up
in access logs). Anything else (unreachable, timeout, 5xx, 401/403, a reply that breaks the contract) is
``external_unavailable``: the registry could not say, which is not a "no".
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from services.registration.domain.errors import ExternalUnavailable
from services.registration.domain.model import InsuredPerson
from shared import tracing
from shared.http import retrying_transport
from shared.logging import get_logger
from shared.tracing import SpanKind

log = get_logger(__name__)

DEFAULT_TIMEOUT_SECONDS = 5.0
UNAVAILABLE_DETAIL = (
    "Không kết nối được cơ sở dữ liệu Bảo hiểm xã hội để xác minh mã số BHXH. "
    "Vui lòng thử lại sau ít phút."
)
_SEXES = ("male", "female")


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


class HttpInsuranceRegistry:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def find(self, bhxh_code: str) -> InsuredPerson | None:
        # A CLIENT span with who was asked and whether they knew the person, nothing more.
        with tracing.span("bhxh.lookup", SpanKind.CLIENT, {"peer.service": "bhxh"}) as current:
            found = await self._lookup(bhxh_code)
            tracing.set_attributes(current, {"dvcid.outcome": "found" if found else "not_found"})
            return found

    async def _lookup(self, bhxh_code: str) -> InsuredPerson | None:
        try:
            response = await self._client.post("v1/insured/lookup", json={"bhxh_code": bhxh_code})
        except httpx.HTTPError as exc:
            log.warning("bhxh registry unreachable", error=type(exc).__name__)
            raise ExternalUnavailable(UNAVAILABLE_DETAIL) from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            # 401/403 means our key is wrong: an operator must see it, the user must not.
            log.error("bhxh registry refused", status=response.status_code)
            raise ExternalUnavailable(UNAVAILABLE_DETAIL)
        try:
            return _insured(response.json(), bhxh_code)
        except (ValueError, KeyError, TypeError) as exc:
            # The message names the field at fault, never a value of the record.
            log.error("bhxh registry answered outside its contract", error=type(exc).__name__)
            raise ExternalUnavailable(UNAVAILABLE_DETAIL) from exc


def _insured(body: Any, asked: str) -> InsuredPerson:
    if not isinstance(body, dict):
        raise TypeError("body is not an object")
    sex = body["sex"]
    if sex not in _SEXES:
        raise ValueError("sex")
    full_name, id_number = body["full_name"], body["id_number"]
    if not isinstance(full_name, str) or not full_name.strip():
        raise ValueError("full_name")
    if not isinstance(id_number, str) or not id_number.isdigit():
        raise ValueError("id_number")
    phone = body.get("phone")
    return InsuredPerson(
        # A registry answering for another code than asked is outside the contract too.
        bhxh_code=_same_code(body.get("bhxh_code", asked), asked),
        id_number=id_number,
        full_name=full_name,
        birth_date=date.fromisoformat(body["birth_date"]),
        sex=sex,
        phone=phone if isinstance(phone, str) and phone else None,
    )


def _same_code(answered: Any, asked: str) -> str:
    if answered != asked:
        raise ValueError("bhxh_code")
    return asked
