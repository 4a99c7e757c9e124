"""Builds the counter registration (``post_office.py``) on the service's infrastructure."""

from __future__ import annotations

from services.registration.adapters.notices import RpcNoticeGateway
from services.registration.adapters.otp import RpcOtpGateway
from services.registration.adapters.post_office_mongo import (
    MongoAgentDays,
    MongoPostOfficeUnitOfWork,
)
from services.registration.adapters.profile import RpcCredentialOwner
from services.registration.domain.methods.post_office import DAILY_LIMIT
from services.registration.post_office import PostOfficeDependencies, PostOfficeRegistrations
from shared.clock import Clock, system_clock
from shared.rpc import RpcClient
from shared.runtime import Infrastructure


def build_post_office(infra: Infrastructure, clock: Clock = system_clock,
                      daily_limit: int = DAILY_LIMIT) -> PostOfficeRegistrations:
    def uow() -> MongoPostOfficeUnitOfWork:
        return MongoPostOfficeUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify)

    rpc = RpcClient(infra.nc)
    return PostOfficeRegistrations(PostOfficeDependencies(
        uow=uow, notices=RpcNoticeGateway(rpc), otp=RpcOtpGateway(rpc),
        agent_days=MongoAgentDays(infra.db), clock=clock,
        credentials=RpcCredentialOwner(rpc), daily_limit=daily_limit))


def post_office_endpoints(counter: PostOfficeRegistrations) -> dict[str, object]:
    return {"agent_register_start": counter.agent_register_start,
            "agent_register_resend": counter.agent_register_resend,
            "agent_register_confirm": counter.agent_register_confirm}
