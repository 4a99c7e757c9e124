"""Wiring of the pki service: RPC endpoints (``shared/contracts/pki.py``), adapters, indexes."""

from __future__ import annotations

from services.pki import metrics as pki_metrics
from services.pki.adapters import mobile_signature, revocation
from services.pki.adapters.mongo import INDEXES, MongoTransactions
from services.pki.adapters.trust_store import load_trust_anchors
from services.pki.config import PkiSettings
from services.pki.domain.certificates import TrustStore
from services.pki.handlers import PkiService
from shared.clock import system_clock
from shared.contracts import pki as PKI
from shared.logging import get_logger
from shared.runtime import Infrastructure, Wiring

log = get_logger(__name__)


def settings_of(infra: Infrastructure) -> PkiSettings:
    if isinstance(infra.settings, PkiSettings):
        return infra.settings
    return PkiSettings(**infra.settings.model_dump())


async def wire(infra: Infrastructure) -> Wiring:
    pki_metrics.install()  # the flow counters follow the facts this process commits
    settings = settings_of(infra)
    trust = TrustStore(load_trust_anchors(settings.trust_anchor_files))
    log.info("trust store loaded", anchors=len(trust.anchors), intermediates=len(trust.intermediates))
    # One HTTP client (connection pool) for every CRL and OCSP fetch of the process.
    http = revocation.create_client(settings.revocation_timeout_seconds)
    clients = [http]
    provider = None
    if settings.mobile_signature_url:
        sim_http = mobile_signature.create_client(settings.mobile_signature_url,
                                                  settings.mobile_signature_token,
                                                  settings.mobile_signature_timeout_seconds)
        clients.append(sim_http)
        provider = mobile_signature.HttpMobileSignatureProvider(
            sim_http, settings.mobile_signature_relying_party)
    service = PkiService(
        transactions=MongoTransactions(infra.mongo, infra.db, on_commit=infra.relay.notify),
        trust=trust,
        revocation=revocation.HttpRevocationChecker(http),
        sim=provider,
        clock=system_clock,
        revocation_fail_open=settings.revocation_fail_open,
        portal_origin=settings.portal_origin,
    )

    async def close_clients() -> None:
        for client in clients:
            await client.aclose()

    wiring = Wiring(indexes=INDEXES, on_stop=[close_clients])
    wiring.serve(PKI.STATUS, service.status)
    wiring.serve(PKI.CHALLENGE, service.challenge)
    wiring.serve(PKI.VERIFY_SIGNATURE, service.verify_signature)
    wiring.serve(PKI.SIM_START, service.sim_start)
    wiring.serve(PKI.SIM_STATUS, service.sim_status)
    return wiring
