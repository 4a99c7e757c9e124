"""Wiring of the registration service: RPC endpoints, event consumers, indexes, adapters."""

from __future__ import annotations

from services.registration import metrics as registration_metrics
from services.registration.activation import ACCOUNT_ACTIVATED_CONSUMER, ReadYourWrites
from services.registration.adapters import bhxh
from services.registration.adapters.activations import (
    ACTIVATION_INDEXES,
    ACTIVATIONS,
    MongoNatsActivations,
)
from services.registration.adapters.flow_migration import migrate_flows
from services.registration.adapters.identity_key_migration import migrate_identity_keys
from services.registration.adapters.mongo import INDEXES, MongoUnitOfWork
from services.registration.adapters.notices import RpcNoticeGateway
from services.registration.adapters.otp import RpcOtpGateway
from services.registration.adapters.pki import RpcPkiGateway
from services.registration.adapters.post_office_mongo import COUNTER_INDEXES, MongoAgentDays
from services.registration.adapters.profile import RpcCredentialOwner
from services.registration.adapters.telco import HttpSubscriberRegistry, create_client
from services.registration.adapters.throttle_mongo import (
    START_ATTEMPTS,
    THROTTLE_INDEXES,
    MongoAttemptCounter,
)
from services.registration.bootstrap import build
from services.registration.config import RegistrationSettings
from services.registration.flows import Dependencies
from services.registration.handlers import ACCOUNT_CREATED_CONSUMER
from services.registration.methods.phone_otp import OTP_FAILED_CONSUMER, OTP_VERIFIED_CONSUMER
from services.registration.methods.signature import CERTIFICATE_VALIDATED_CONSUMER
from shared.bus import Consumer
from shared.clock import system_clock
from shared.contracts import registration as REG
from shared.rpc import RpcClient
from shared.runtime import Infrastructure, Wiring


def _settings(infra: Infrastructure) -> RegistrationSettings:
    if isinstance(infra.settings, RegistrationSettings):
        return infra.settings
    # Started with the common settings (tools, tests): read our own from the environment.
    return RegistrationSettings(**infra.settings.model_dump())


async def wire(infra: Infrastructure) -> Wiring:
    registration_metrics.install()  # the flow counters follow the facts this process commits
    settings = _settings(infra)
    telco_client = create_client(settings.telco_url, settings.telco_api_key,
                                 settings.telco_timeout_seconds)
    bhxh_client = bhxh.create_client(settings.bhxh_url, settings.bhxh_api_key,
                                     settings.bhxh_timeout_seconds)

    def uow() -> MongoUnitOfWork:
        return MongoUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify)

    rpc = RpcClient(infra.nc)
    registration = build(Dependencies(
        uow=uow,
        subscribers=HttpSubscriberRegistry(telco_client),
        insurance=bhxh.HttpInsuranceRegistry(bhxh_client),
        otp=RpcOtpGateway(rpc),
        pki=RpcPkiGateway(rpc),
        notices=RpcNoticeGateway(rpc),
        agent_days=MongoAgentDays(infra.db),
        clock=system_clock,
        flow_secret=settings.flow_secret,
        start_attempts=MongoAttemptCounter(infra.db[START_ATTEMPTS]),
        credentials=RpcCredentialOwner(rpc),
        failpoint=infra.failpoints.hit,
        counter_daily_limit=settings.counter_daily_limit,
    ))
    handlers = registration.handlers

    async def close_telco_client() -> None:
        await telco_client.aclose()

    async def close_bhxh_client() -> None:
        await bhxh_client.aclose()

    async def sweep_expired_flows() -> None:
        await registration.sweeper.run(settings.expiry_sweep_interval_seconds)

    # "completed" only once the account can be used (activation.py, issue 12).
    usable = ReadYourWrites(MongoNatsActivations(infra.db[ACTIVATIONS], infra.nc),
                            settings.account_ready_wait_seconds)
    wiring = Wiring(
        consumers=[
            Consumer(OTP_VERIFIED_CONSUMER, ["OtpVerified"],
                     registration.otp_events.on_otp_verified),
            Consumer(ACCOUNT_CREATED_CONSUMER, ["AccountCreated"], handlers.on_account_created),
            Consumer(OTP_FAILED_CONSUMER, ["OtpFailed"], registration.otp_events.on_otp_failed),
            Consumer(CERTIFICATE_VALIDATED_CONSUMER, ["CertificateValidated"],
                     registration.certificate_events.on_certificate_validated),
            Consumer(ACCOUNT_ACTIVATED_CONSUMER, ["AccountActivated"],
                     usable.on_account_activated),
        ],
        indexes=INDEXES | COUNTER_INDEXES | THROTTLE_INDEXES | ACTIVATION_INDEXES,
        background=[sweep_expired_flows],
        on_stop=[close_telco_client, close_bhxh_client],
    )
    wiring.serve(REG.START, handlers.start)
    wiring.serve(REG.GET, usable.reading(handlers.get))
    wiring.serve(REG.SUBMIT_OTP, handlers.submit_otp)
    wiring.serve(REG.RESEND_OTP, handlers.resend_otp)
    wiring.serve(REG.SET_PASSWORD, usable.completing(handlers.set_password))
    wiring.serve(REG.SUBMIT_SIGNATURE, handlers.submit_signature)
    wiring.serve(REG.CONFIRM, usable.completing(handlers.confirm))
    wiring.serve(REG.AGENT_REGISTER_START, handlers.agent_register_start)
    wiring.serve(REG.AGENT_REGISTER_RESEND, handlers.agent_register_resend)
    wiring.serve(REG.AGENT_REGISTER_CONFIRM, usable.completing(handlers.agent_register_confirm))
    # Rows older than typed identity keys get their type before anything is checked, and
    # flows of the former signature and counter collections move into the one collection.
    await migrate_identity_keys(infra.db)
    await migrate_flows(infra.db)
    return wiring
