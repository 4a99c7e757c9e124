"""Plugs the login with a digital signature (``certificate_login.py``) into profile's wiring:
``login_start`` / ``login_get`` dispatch by flow kind, ``login_submit_signature`` is added,
and the indexes of the certificate lookups join profile's."""

from __future__ import annotations

from collections.abc import Callable

from services.profile.adapters.certificate_mongo import (
    CertificateUnitOfWork,
    with_certificate_indexes,
)
from services.profile.adapters.pki import RpcPkiService
from services.profile.certificate_login import CertificateLogins, LoginEndpoints
from services.profile.config import ProfileSettings
from services.profile.domain.certificate_login import PkiService
from services.profile.entrypoints import policy_from
from shared.clock import Clock, system_clock
from shared.rpc import RpcClient
from shared.runtime import Infrastructure, Wiring


def build_certificate_logins(infra: Infrastructure, settings: ProfileSettings,
                             pki: PkiService | None = None,
                             clock: Clock = system_clock) -> CertificateLogins:
    def unit_of_work() -> CertificateUnitOfWork:
        return CertificateUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify)

    uow: Callable[[], CertificateUnitOfWork] = unit_of_work
    return CertificateLogins(
        uow=uow, pki=pki or RpcPkiService(RpcClient(infra.nc), timeout=settings.otp_timeout_seconds),
        clock=clock, policy=policy_from(settings))


def add_certificate_logins(wiring: Wiring, logins: CertificateLogins) -> Wiring:
    endpoints = dict(wiring.endpoints)
    dispatch = LoginEndpoints(logins, endpoints["login_start"], endpoints["login_get"])
    endpoints |= {"login_start": dispatch.login_start, "login_get": dispatch.login_get,
                  "login_submit_signature": logins.submit_signature}
    wiring.endpoints = endpoints
    wiring.indexes = with_certificate_indexes(wiring.indexes)
    return wiring
