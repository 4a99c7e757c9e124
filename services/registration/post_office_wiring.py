"""Builds the counter registration (``post_office.py``) on the service's infrastructure."""

from __future__ import annotations

from services.registration.adapters.notices import RpcNoticeGateway
from services.registration.adapters.post_office_mongo import MongoPostOfficeUnitOfWork
from services.registration.post_office import PostOfficeDependencies, PostOfficeRegistrations
from shared.clock import Clock, system_clock
from shared.rpc import RpcClient
from shared.runtime import Infrastructure


def build_post_office(infra: Infrastructure,
                      clock: Clock = system_clock) -> PostOfficeRegistrations:
    def uow() -> MongoPostOfficeUnitOfWork:
        return MongoPostOfficeUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify)

    return PostOfficeRegistrations(PostOfficeDependencies(
        uow=uow, notices=RpcNoticeGateway(RpcClient(infra.nc)), clock=clock))
