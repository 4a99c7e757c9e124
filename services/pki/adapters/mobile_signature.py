"""The SIM signature provider over HTTP, modelled on ETSI TS 102 204 (MSS_Signature with a
hash to be signed, then status polling) in the REST shape of Mobile-ID
(``POST /signature`` → ``sessionID``; ``GET /signature/session/{id}?timeoutMs=`` long-polls
until the state is COMPLETE with a result: OK, USER_CANCELLED, TIMEOUT, NOT_CLIENT, ...).
Contract: docs/external/mobile-signature.md.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import httpx

from services.pki.domain.ports import MobileSignatureError, MobileSignatureStatus
from shared import tracing
from shared.http import retrying_transport
from shared.tracing import SpanKind

_PEER = {"peer.service": "mobile_signature"}
_ANSWER_CODE = re.compile(r"[A-Z][A-Z_]{0,39}")


def create_client(base_url: str, token: str, timeout_seconds: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_seconds,
                             headers={"Authorization": f"Bearer {token}",
                                      "User-Agent": "dvcid-pki"},
                             # Status polls are repeated on a closed connection; a push is
                             # not (a second prompt on the citizen's phone).
                             transport=retrying_transport())


class HttpMobileSignatureProvider:
    def __init__(self, client: httpx.AsyncClient, relying_party: str) -> None:
        self._client = client
        self._relying_party = relying_party

    async def start(self, phone: str, digest: bytes, display_text: str) -> str:
        body = {"relyingPartyName": self._relying_party, "phoneNumber": phone,
                "hash": base64.b64encode(digest).decode(), "hashType": "SHA256",
                "language": "VIE", "displayText": display_text}
        with tracing.span("sim.signature_start", SpanKind.CLIENT, _PEER):
            data = await self._call("POST", "/signature", json=body)
        session_id = data.get("sessionID")
        if not isinstance(session_id, str) or not session_id:
            raise MobileSignatureError("no sessionID in the provider's answer")
        return session_id

    async def status(self, session_id: str, wait_seconds: float) -> MobileSignatureStatus:
        # The span shows the long poll's wait and the provider's answer code (state/result).
        with tracing.span("sim.signature_status", SpanKind.CLIENT, _PEER) as current:
            data = await self._call("GET", f"/signature/session/{session_id}",
                                    params={"timeoutMs": int(wait_seconds * 1000)},
                                    extra_timeout=wait_seconds)
            tracing.set_attributes(current, {"dvcid.provider_answer": _answer_code(
                data.get("result") or data.get("state"))})
        state = data.get("state")
        if state == "RUNNING":
            return MobileSignatureStatus(state="RUNNING")
        if state != "COMPLETE":
            raise MobileSignatureError(f"unknown session state {state!r}")
        result = data.get("result")
        signature = _b64((data.get("signature") or {}).get("value"))
        certificate = _b64(data.get("cert"))
        return MobileSignatureStatus(state="COMPLETE", result=str(result),
                                     signature=signature, certificate_der=certificate)

    async def _call(self, method: str, path: str, extra_timeout: float = 0.0,
                    **kwargs: Any) -> dict[str, Any]:
        try:
            timeout = self._client.timeout.read or 15.0
            response = await self._client.request(method, path, timeout=timeout + extra_timeout,
                                                  **kwargs)
        except httpx.HTTPError as exc:
            raise MobileSignatureError(f"provider unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise MobileSignatureError(f"provider answered {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise MobileSignatureError("provider answered non-JSON") from exc
        if not isinstance(data, dict):
            raise MobileSignatureError("provider answered a non-object")
        return data


def _answer_code(value: object) -> str:
    """The provider's state or result as a bounded code (OK, USER_CANCELLED...), else other."""
    text = str(value)
    return text if _ANSWER_CODE.fullmatch(text) else "other"


def _b64(value: object) -> bytes | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
