"""Wiring of the registration service: RPC endpoints, event consumers, indexes, adapters."""

from __future__ import annotations

from typing import Any

from services.registration.adapters.mongo import INDEXES, MongoUnitOfWork
from services.registration.adapters.otp import RpcOtpGateway
from services.registration.adapters.telco import HttpSubscriberRegistry, create_client
from services.registration.config import RegistrationSettings
from services.registration.handlers import (
    ACCOUNT_CREATED_CONSUMER,
    OTP_VERIFIED_CONSUMER,
    Dependencies,
    RegistrationHandlers,
)
from shared.bus import Consumer
from shared.clock import system_clock
from shared.rpc import RpcClient
from shared.runtime import Infrastructure, Wiring


def _settings(infra: Infrastructure) -> RegistrationSettings:
    if isinstance(infra.settings, RegistrationSettings):
        return infra.settings
    # Started with the common settings (tools, tests): read our own from the environment.
    return RegistrationSettings(**infra.settings.model_dump())


async def wire(infra: Infrastructure) -> Wiring:
    settings = _settings(infra)
    telco_client = create_client(settings.telco_url, settings.telco_api_key,
                                 settings.telco_timeout_seconds)
    handlers = RegistrationHandlers(Dependencies(
        uow=lambda: MongoUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify),
        subscribers=HttpSubscriberRegistry(telco_client),
        otp=RpcOtpGateway(RpcClient(infra.nc)),
        clock=system_clock,
        flow_secret=settings.flow_secret,
        failpoint=infra.failpoints.hit,
    ))

    async def close_telco_client() -> None:
        await telco_client.aclose()

    endpoints: dict[str, Any] = {
        "start": handlers.start,
        "get": handlers.get,
        "submit_otp": handlers.submit_otp,
        "resend_otp": handlers.resend_otp,
        "set_password": handlers.set_password,
    }
    return Wiring(
        endpoints=endpoints,
        consumers=[
            Consumer(OTP_VERIFIED_CONSUMER, ["OtpVerified"], handlers.on_otp_verified),
            Consumer(ACCOUNT_CREATED_CONSUMER, ["AccountCreated"], handlers.on_account_created),
        ],
        indexes=INDEXES,
        on_stop=[close_telco_client],
    )
