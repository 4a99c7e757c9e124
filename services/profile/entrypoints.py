"""How the profile service plugs into the runtime: endpoints, the AccountCreated consumer,
indexes (shared.runtime.serve calls ``wire`` once at start-up)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from services.profile.adapters.captcha_audio import AudioCaptchaRenderer
from services.profile.adapters.captcha_image import ImageCaptchaRenderer
from services.profile.adapters.guards import GUARD_INDEXES, MongoGuardStore
from services.profile.adapters.mongo import INDEXES, MongoStore, ProfileUnitOfWork
from services.profile.adapters.otp import RpcOtpService
from services.profile.adapters.telco import HttpSubscriberRegistry
from services.profile.adapters.telco import create_client as create_telco_client
from services.profile.config import ProfileSettings
from services.profile.credentials import CredentialStaging
from services.profile.domain.guards import GuardPolicy
from services.profile.domain.models import SessionPolicy
from services.profile.domain.ports import OtpService, SubscriberRegistry
from services.profile.guard import LoginGuard
from services.profile.handlers import ACCOUNT_CREATED_CONSUMER, Profile, ProfilePolicy
from services.profile.recovery import Recovery
from shared.bus import Consumer
from shared.clock import Clock, system_clock
from shared.rpc import RpcClient
from shared.runtime import Endpoint, Infrastructure, Wiring


def policy_from(settings: ProfileSettings) -> ProfilePolicy:
    return ProfilePolicy(
        session_secret=settings.session_secret,
        flow_secret=settings.flow_secret,
        session=SessionPolicy(idle=timedelta(minutes=settings.session_idle_minutes),
                              absolute=timedelta(hours=settings.session_absolute_hours)),
        login_flow_ttl=timedelta(minutes=settings.login_flow_minutes),
    )


def guard_policy_from(settings: ProfileSettings) -> GuardPolicy:
    return GuardPolicy(
        window=timedelta(minutes=settings.login_window_minutes),
        captcha_after=settings.login_captcha_after,
        lock_after=settings.login_lock_after,
        lock_for=timedelta(minutes=settings.login_lock_minutes),
        ip_captcha_after=settings.login_ip_captcha_after,
        ip_attempts=settings.login_ip_attempts,
        ip_otp_sends=settings.login_ip_otp_sends,
        reset_sends=settings.password_reset_sends_per_hour,
    )


def build_guard(infra: Infrastructure, settings: ProfileSettings,
                clock: Clock = system_clock) -> LoginGuard:
    fixed = settings.captcha_test_text
    return LoginGuard(store=MongoGuardStore(infra.db), images=ImageCaptchaRenderer(),
                      sounds=AudioCaptchaRenderer(),
                      clock=clock, policy=guard_policy_from(settings),
                      secret=settings.guard_secret,
                      **({"new_text": lambda: fixed} if fixed else {}))


def build_profile(infra: Infrastructure, settings: ProfileSettings,
                  otp: OtpService | None = None, clock: Clock = system_clock,
                  subscribers: SubscriberRegistry | None = None) -> Profile:
    return Profile(
        uow=_unit_of_work(infra),
        store=MongoStore(infra.db),
        otp=otp or RpcOtpService(RpcClient(infra.nc), timeout=settings.otp_timeout_seconds),
        clock=clock,
        policy=policy_from(settings),
        failpoints=infra.failpoints,
        guard=build_guard(infra, settings, clock),
        subscribers=subscribers,
    )


def build_recovery(infra: Infrastructure, settings: ProfileSettings, profile: Profile,
                   otp: OtpService | None = None, clock: Clock = system_clock) -> Recovery:
    return Recovery(
        uow=_unit_of_work(infra), store=MongoStore(infra.db),
        otp=otp or RpcOtpService(RpcClient(infra.nc), timeout=settings.otp_timeout_seconds),
        clock=clock, policy=policy_from(settings), guard=profile.guard,
    )


def build_credential_staging(infra: Infrastructure, settings: ProfileSettings,
                             clock: Clock = system_clock) -> CredentialStaging:
    # As long as the stream keeps the AccountCreated that may claim it.
    return CredentialStaging(credentials=MongoStore(infra.db).credentials, clock=clock,
                             lifetime=timedelta(days=settings.events_max_age_days))


def _unit_of_work(infra: Infrastructure) -> Callable[[], ProfileUnitOfWork]:
    def unit_of_work() -> ProfileUnitOfWork:
        # After each commit the relay is woken, so events leave at once.
        return ProfileUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify)

    return unit_of_work


async def wire(infra: Infrastructure) -> Wiring:
    settings = (infra.settings if isinstance(infra.settings, ProfileSettings)
                else ProfileSettings())
    telco = HttpSubscriberRegistry(create_telco_client(
        settings.telco_url, settings.telco_api_key, settings.telco_timeout_seconds))
    profile = build_profile(infra, settings, subscribers=telco)
    wiring = wiring_for(profile, build_recovery(infra, settings, profile))
    # USB token and SIM signature logins (certificate_login.py); imported here, not at the
    # top: that module builds on this one's policy_from.
    from services.profile.certificate_wiring import add_certificate_logins, build_certificate_logins
    add_certificate_logins(wiring, build_certificate_logins(infra, settings))
    # Operator-made accounts (dvcid admin) and the post-office agent's session (staff.py).
    from services.profile.staff_wiring import add_staff_endpoints, build_staff_accounts
    add_staff_endpoints(wiring, build_staff_accounts(infra, profile))
    # Account management: the /me routes (account_management.py).
    from services.profile.account_wiring import add_account_endpoints, build_account_management
    add_account_endpoints(wiring, build_account_management(infra, settings, profile))
    # Step-up of a session and the notices of sensitive changes (step_up.py,
    # security_notices.py).
    from services.profile.account_wiring import add_step_up, build_security_notices, build_step_ups
    add_step_up(wiring, build_step_ups(infra, settings, profile),
                build_security_notices(infra, settings))
    # The account activity log: its consumer of security events, /me/activity, the audit.
    from services.profile.activity_wiring import add_activity_log, build_activity_log
    add_activity_log(wiring, build_activity_log(infra, settings, profile))
    # The password of a new account, handed over by registration (credentials.py, issue 11).
    wiring.endpoints["stage_credential"] = build_credential_staging(infra, settings).stage_credential
    # Accounts older than typed identity keys get their type before anything is looked up.
    from services.profile.adapters.identity_key_migration import migrate_identity_keys
    await migrate_identity_keys(infra.db)
    wiring.on_stop = [telco.close]
    return wiring


def wiring_for(profile: Profile, recovery: Recovery | None = None) -> Wiring:
    extra: dict[str, Endpoint] = {}
    if recovery is not None:
        extra = {
            "login_otp_phone": recovery.login_otp_phone,
            "login_lost_phone": recovery.login_lost_phone,
            "login_change_password": recovery.login_change_password,
            "reset_start": recovery.reset_start,
            "reset_resend_otp": recovery.reset_resend_otp,
            "reset_submit_otp": recovery.reset_submit_otp,
            "reset_set_password": recovery.reset_set_password,
        }
    return Wiring(
        endpoints={
            "login_start": profile.login_start,
            "login_get": profile.login_get,
            "login_submit_otp": profile.login_submit_otp,
            "login_resend_otp": profile.login_resend_otp,
            "authenticate": profile.authenticate,
            "me": profile.me,
            "logout": profile.logout,
            "captcha_new": profile.guard.new_captcha,
        } | extra,
        consumers=[Consumer(ACCOUNT_CREATED_CONSUMER, ["AccountCreated"],
                            profile.on_account_created)],
        indexes=INDEXES | GUARD_INDEXES,
    )
