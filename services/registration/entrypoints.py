"""Wiring of the registration service: RPC endpoints, event consumers, indexes, adapters."""

from __future__ import annotations

from typing import Any

from services.registration.activation import ACCOUNT_ACTIVATED_CONSUMER, ReadYourWrites
from services.registration.adapters import bhxh
from services.registration.adapters.activations import (
    ACTIVATION_INDEXES,
    ACTIVATIONS,
    MongoNatsActivations,
)
from services.registration.adapters.identity_key_migration import migrate_identity_keys
from services.registration.adapters.mongo import INDEXES, MongoUnitOfWork
from services.registration.adapters.otp import RpcOtpGateway
from services.registration.adapters.pki import RpcPkiGateway
from services.registration.adapters.post_office_mongo import COUNTER_INDEXES
from services.registration.adapters.profile import RpcCredentialOwner
from services.registration.adapters.signature_mongo import (
    SIGNATURE_INDEXES,
    MongoSignatureUnitOfWork,
)
from services.registration.adapters.telco import HttpSubscriberRegistry, create_client
from services.registration.adapters.throttle_mongo import (
    START_ATTEMPTS,
    THROTTLE_INDEXES,
    MongoAttemptCounter,
)
from services.registration.config import RegistrationSettings
from services.registration.expiry import ExpirySweeper
from services.registration.handlers import (
    ACCOUNT_CREATED_CONSUMER,
    OTP_FAILED_CONSUMER,
    OTP_VERIFIED_CONSUMER,
    Dependencies,
    RegistrationHandlers,
)
from services.registration.post_office_wiring import build_post_office, post_office_endpoints
from services.registration.signature_handlers import (
    CERTIFICATE_VALIDATED_CONSUMER,
    RegistrationEndpoints,
    SignatureDependencies,
    SignatureExpirySweeper,
    SignatureRegistrations,
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
    bhxh_client = bhxh.create_client(settings.bhxh_url, settings.bhxh_api_key,
                                     settings.bhxh_timeout_seconds)

    def uow() -> MongoUnitOfWork:
        return MongoUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify)

    handlers = RegistrationHandlers(Dependencies(
        uow=uow,
        subscribers=HttpSubscriberRegistry(telco_client),
        insurance=bhxh.HttpInsuranceRegistry(bhxh_client),
        otp=RpcOtpGateway(RpcClient(infra.nc)),
        clock=system_clock,
        flow_secret=settings.flow_secret,
        start_attempts=MongoAttemptCounter(infra.db[START_ATTEMPTS]),
        credentials=RpcCredentialOwner(RpcClient(infra.nc)),
        failpoint=infra.failpoints.hit,
    ))

    async def close_telco_client() -> None:
        await telco_client.aclose()

    async def close_bhxh_client() -> None:
        await bhxh_client.aclose()

    sweeper = ExpirySweeper(uow, system_clock)

    async def sweep_expired_flows() -> None:
        await sweeper.run(settings.expiry_sweep_interval_seconds)

    # USB token and SIM signature flows (signature_handlers.py): start and get dispatch.
    def signature_uow() -> MongoSignatureUnitOfWork:
        return MongoSignatureUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify)

    signatures = SignatureRegistrations(SignatureDependencies(
        uow=signature_uow, pki=RpcPkiGateway(RpcClient(infra.nc)), clock=system_clock,
        flow_secret=settings.flow_secret))
    dispatch = RegistrationEndpoints(handlers, signatures)
    signature_sweeper = SignatureExpirySweeper(signature_uow, system_clock)

    async def sweep_expired_signature_flows() -> None:
        await signature_sweeper.run(settings.expiry_sweep_interval_seconds)

    # Registration at a post office counter (post_office.py): start, then the code read back.
    counter = build_post_office(infra, daily_limit=settings.counter_daily_limit)

    # "completed" only once the account can be used (activation.py, issue 12).
    usable = ReadYourWrites(MongoNatsActivations(infra.db[ACTIVATIONS], infra.nc),
                            settings.account_ready_wait_seconds)
    endpoints: dict[str, Any] = {
        "start": dispatch.start,
        "submit_signature": signatures.submit_signature,
        "submit_otp": handlers.submit_otp,
        "resend_otp": handlers.resend_otp,
    } | post_office_endpoints(counter) | {
        "get": usable.reading(dispatch.get),
        "confirm": usable.completing(signatures.confirm),
        "set_password": usable.completing(handlers.set_password),
        "agent_register_confirm": usable.completing(counter.agent_register_confirm),
    }
    # Rows older than typed identity keys get their type before anything is checked.
    await migrate_identity_keys(infra.db)
    return Wiring(
        endpoints=endpoints,
        consumers=[
            Consumer(OTP_VERIFIED_CONSUMER, ["OtpVerified"], handlers.on_otp_verified),
            Consumer(ACCOUNT_CREATED_CONSUMER, ["AccountCreated"], handlers.on_account_created),
            Consumer(OTP_FAILED_CONSUMER, ["OtpFailed"], handlers.on_otp_failed),
            Consumer(CERTIFICATE_VALIDATED_CONSUMER, ["CertificateValidated"],
                     signatures.on_certificate_validated),
            Consumer(ACCOUNT_ACTIVATED_CONSUMER, ["AccountActivated"],
                     usable.on_account_activated),
        ],
        indexes=(INDEXES | SIGNATURE_INDEXES | COUNTER_INDEXES | THROTTLE_INDEXES
                 | ACTIVATION_INDEXES),
        background=[sweep_expired_flows, sweep_expired_signature_flows],
        on_stop=[close_telco_client, close_bhxh_client],
    )
