"""The pki service, reached over NATS request/reply (``shared/contracts/pki.py``)."""

from __future__ import annotations

from services.profile.domain.certificate_login import CertificateProof
from services.profile.domain.errors import PkiRejected
from shared.contracts import pki as PKI
from shared.contracts.base import AnswerT, RequestT, Rpc
from shared.rpc import RemoteError, RpcClient, ServiceUnavailable

UNAVAILABLE_DETAIL = ("Dịch vụ xác thực chữ ký số tạm thời không phản hồi. Vui lòng thử lại "
                      "sau ít phút.")


class RpcPkiService:
    def __init__(self, rpc: RpcClient, timeout: float | None = None) -> None:
        self._rpc = rpc
        self._timeout = timeout

    async def challenge(self, flow_id: str, purpose: str) -> PKI.SignatureChallenge:
        return await self._ask(PKI.CHALLENGE, PKI.SignatureFlow.model_validate(
            {"flow_id": flow_id, "purpose": purpose}))

    async def verify_signature(self, flow_id: str, purpose: str, certificate: str,
                               chain: list[str] | str | None,
                               signature: str) -> CertificateProof:
        # No chain stays unset (off the wire), as before.
        with_chain = {"chain": chain} if chain else {}
        signed = PKI.VerifySignature.model_validate(
            {"flow_id": flow_id, "purpose": purpose, "certificate": certificate,
             "signature": signature} | with_chain)
        validated = await self._ask(PKI.VERIFY_SIGNATURE, signed)
        return CertificateProof.from_pki(validated.wire())

    async def sim_start(self, flow_id: str, purpose: str, phone: str) -> PKI.SimStarted:
        return await self._ask(PKI.SIM_START, PKI.StartSim.model_validate(
            {"flow_id": flow_id, "purpose": purpose, "phone": phone}))

    async def sim_status(self, flow_id: str, purpose: str) -> CertificateProof | None:
        state = await self._ask(PKI.SIM_STATUS, PKI.SimStatus.model_validate(
            {"flow_id": flow_id, "purpose": purpose}))
        return CertificateProof.from_pki(state.wire()) if state.status == "completed" else None

    async def _ask(self, endpoint: Rpc[RequestT, AnswerT], request: RequestT) -> AnswerT:
        try:
            return await self._rpc.ask(endpoint, request, timeout=self._timeout)
        except ServiceUnavailable as exc:
            raise PkiRejected("service_unavailable", UNAVAILABLE_DETAIL) from exc
        except RemoteError as exc:
            retry_after = exc.error.get("retry_after")
            raise PkiRejected(exc.code, exc.error.get("detail"), fields=exc.error.get("fields"),
                              retry_after=int(retry_after) if retry_after is not None
                              else None) from exc
