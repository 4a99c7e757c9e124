"""How the profile service plugs into the runtime: endpoints, the AccountCreated consumer,
indexes (shared.runtime.serve calls ``wire`` once at start-up)."""

from __future__ import annotations

from datetime import timedelta

from services.profile.adapters.mongo import INDEXES, MongoStore, ProfileUnitOfWork
from services.profile.adapters.otp import RpcOtpService
from services.profile.config import ProfileSettings
from services.profile.domain.models import SessionPolicy
from services.profile.domain.ports import OtpService
from services.profile.handlers import ACCOUNT_CREATED_CONSUMER, Profile, ProfilePolicy
from shared.bus import Consumer
from shared.clock import Clock, system_clock
from shared.rpc import RpcClient
from shared.runtime import Infrastructure, Wiring


def policy_from(settings: ProfileSettings) -> ProfilePolicy:
    return ProfilePolicy(
        session_secret=settings.session_secret,
        flow_secret=settings.flow_secret,
        session=SessionPolicy(idle=timedelta(minutes=settings.session_idle_minutes),
                              absolute=timedelta(hours=settings.session_absolute_hours)),
        login_flow_ttl=timedelta(minutes=settings.login_flow_minutes),
    )


def build_profile(infra: Infrastructure, settings: ProfileSettings,
                  otp: OtpService | None = None, clock: Clock = system_clock) -> Profile:
    def unit_of_work() -> ProfileUnitOfWork:
        # After each commit the relay is woken, so events leave at once.
        return ProfileUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify)

    return Profile(
        uow=unit_of_work,
        store=MongoStore(infra.db),
        otp=otp or RpcOtpService(RpcClient(infra.nc), timeout=settings.otp_timeout_seconds),
        clock=clock,
        policy=policy_from(settings),
        failpoints=infra.failpoints,
    )


async def wire(infra: Infrastructure) -> Wiring:
    settings = (infra.settings if isinstance(infra.settings, ProfileSettings)
                else ProfileSettings())
    return wiring_for(build_profile(infra, settings))


def wiring_for(profile: Profile) -> Wiring:
    return Wiring(
        endpoints={
            "login_start": profile.login_start,
            "login_get": profile.login_get,
            "login_submit_otp": profile.login_submit_otp,
            "login_resend_otp": profile.login_resend_otp,
            "authenticate": profile.authenticate,
            "me": profile.me,
            "logout": profile.logout,
        },
        consumers=[Consumer(ACCOUNT_CREATED_CONSUMER, ["AccountCreated"],
                            profile.on_account_created)],
        indexes=INDEXES,
    )
