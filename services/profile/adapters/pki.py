"""The pki service, reached over NATS request/reply (docs/messaging.md, ``dvcid.pki.*``)."""

from __future__ import annotations

from typing import Any

from services.profile.domain.certificate_login import CertificateProof
from services.profile.domain.errors import PkiRejected
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

PKI_SERVICE = "pki"
UNAVAILABLE_DETAIL = ("Dịch vụ xác thực chữ ký số tạm thời không phản hồi. Vui lòng thử lại "
                      "sau ít phút.")


class RpcPkiService:
    def __init__(self, rpc: RpcClient, timeout: float | None = None) -> None:
        self._rpc = rpc
        self._timeout = timeout

    async def challenge(self, flow_id: str, purpose: str) -> dict[str, Any]:
        return await self._call("challenge", {"flow_id": flow_id, "purpose": purpose})

    async def verify_signature(self, flow_id: str, purpose: str, certificate: str,
                               chain: list[str] | str | None,
                               signature: str) -> CertificateProof:
        payload: dict[str, Any] = {"flow_id": flow_id, "purpose": purpose,
                                   "certificate": certificate, "signature": signature}
        if chain:
            payload["chain"] = chain
        return CertificateProof.from_pki(await self._call("verify_signature", payload))

    async def sim_start(self, flow_id: str, purpose: str, phone: str) -> dict[str, Any]:
        return await self._call("sim_start", {"flow_id": flow_id, "purpose": purpose,
                                              "phone": phone})

    async def sim_status(self, flow_id: str, purpose: str) -> CertificateProof | None:
        data = await self._call("sim_status", {"flow_id": flow_id, "purpose": purpose})
        return CertificateProof.from_pki(data) if data.get("status") == "completed" else None

    async def _call(self, endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            data = await self._rpc.call(PKI_SERVICE, endpoint, payload, timeout=self._timeout)
        except ServiceUnavailable as exc:
            raise PkiRejected("service_unavailable", UNAVAILABLE_DETAIL) from exc
        except RemoteError as exc:
            retry_after = exc.error.get("retry_after")
            raise PkiRejected(exc.code, exc.error.get("detail"), fields=exc.error.get("fields"),
                              retry_after=int(retry_after) if retry_after is not None
                              else None) from exc
        return dict(data or {})
