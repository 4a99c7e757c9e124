"""Builds every use case of the profile service once (cosmicpython's bootstrap): from the
settings and the ports, the Mongo and RPC adapters in production (``ports_from``), in-memory
fakes in unit tests; the clock is injected. ``entrypoints.py`` serves what this returns.

A new login method is one strategy module in ``handlers/login/`` added to ``strategies``
below (plus its schema variant and page tab in the gateway).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from services.profile.adapters.activity_mongo import MongoActivityLog
from services.profile.adapters.captcha_audio import AudioCaptchaRenderer
from services.profile.adapters.captcha_image import ImageCaptchaRenderer
from services.profile.adapters.guards import MongoGuardStore
from services.profile.adapters.mongo import MongoStore
from services.profile.adapters.notices import RpcNoticeSender
from services.profile.adapters.otp import RpcOtpService
from services.profile.adapters.pki import RpcPkiService
from services.profile.adapters.session_mirror import NatsSessionMirror, NoSessionMirror
from services.profile.adapters.telco import HttpSubscriberRegistry
from services.profile.adapters.telco import create_client as create_telco_client
from services.profile.adapters.unit_of_work import ProfileUnitOfWork
from services.profile.config import ProfileSettings
from services.profile.domain.activity import ActivityStore
from services.profile.domain.certificate_login import PkiService
from services.profile.domain.guards import GuardPolicy
from services.profile.domain.models import SessionPolicy
from services.profile.domain.ports import (
    CaptchaImages,
    CaptchaSounds,
    GuardStore,
    OtpService,
    SessionMirror,
    Store,
    SubscriberRegistry,
    UnitOfWork,
)
from services.profile.handlers.accounts import AccountOpening
from services.profile.handlers.activity.log import ActivityLog
from services.profile.handlers.common import (
    PasswordHasher,
    PasswordVerifier,
    ProfilePolicy,
    new_id,
)
from services.profile.handlers.credentials import CredentialStaging
from services.profile.handlers.guard import LoginGuard
from services.profile.handlers.login.certificate import CertificateLogins
from services.profile.handlers.login.first_login import FirstLogin
from services.profile.handlers.login.flow import LoginFlow
from services.profile.handlers.login.password import PasswordLogin
from services.profile.handlers.login.sim import SimLogin, SimProof
from services.profile.handlers.login.strategy import LoginHistory, LoginStrategy
from services.profile.handlers.login.usb import UsbLogin, UsbProof
from services.profile.handlers.login.vneid import VneidLogins
from services.profile.handlers.recovery.recovery import Recovery
from services.profile.handlers.sessions.manage import SessionManagement
from services.profile.handlers.sessions.sessions import Sessions
from services.profile.handlers.settings.account import AccountSettings
from services.profile.handlers.settings.notices import NoticeSender, SecurityNotices
from services.profile.handlers.settings.step_up import StepUps
from services.profile.handlers.staff.accounts import StaffAccounts
from shared import crypto
from shared.clock import Clock, system_clock
from shared.failpoints import Failpoints
from shared.rpc import RpcClient
from shared.runtime import Infrastructure


@dataclass(frozen=True)
class Ports:
    """What the use cases need from outside: storage, the other services, the clock."""

    uow: Callable[[], UnitOfWork]
    store: Store
    guard_store: GuardStore
    activity_store: ActivityStore
    otp: OtpService
    pki: PkiService | None
    notices: NoticeSender
    subscribers: SubscriberRegistry | None
    images: CaptchaImages
    sounds: CaptchaSounds | None = None
    clock: Clock = system_clock
    failpoints: Failpoints | None = None
    # The session mirror gateways answer session checks from (issue 13); none in unit tests.
    mirror: SessionMirror = field(default_factory=NoSessionMirror)
    # argon2 at its production cost, uuid4 ids: cheaper or predictable ones in unit tests.
    verify_password: PasswordVerifier = crypto.verify_password
    hash_password: PasswordHasher = crypto.hash_password
    new_id: Callable[[], str] = new_id


@dataclass(frozen=True)
class Profile:
    """Every use case of the service, built once."""

    guard: LoginGuard
    accounts: AccountOpening
    credentials: CredentialStaging
    login: LoginFlow
    first_login: FirstLogin
    vneid: VneidLogins
    recovery: Recovery
    sessions: Sessions
    session_management: SessionManagement
    settings: AccountSettings
    step_ups: StepUps
    notices: SecurityNotices
    staff: StaffAccounts
    activity: ActivityLog


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


def bootstrap(settings: ProfileSettings, ports: Ports) -> Profile:
    clock, ids, hash_password = ports.clock, ports.new_id, ports.hash_password
    policy = policy_from(settings)
    fixed = settings.captcha_test_text
    guard = LoginGuard(store=ports.guard_store, images=ports.images, sounds=ports.sounds,
                       clock=clock, policy=guard_policy_from(settings),
                       secret=settings.guard_secret,
                       **({"new_text": lambda: fixed} if fixed else {}))
    sessions = Sessions(uow=ports.uow, store=ports.store, clock=clock, policy=policy,
                        mirror=ports.mirror)
    history = LoginHistory(uow=ports.uow, clock=clock, new_id=ids)
    certificate_logins = CertificateLogins(uow=ports.uow, clock=clock, policy=policy,
                                           history=history, new_id=ids)
    strategies: list[LoginStrategy] = [
        PasswordLogin(uow=ports.uow, store=ports.store, otp=ports.otp, clock=clock,
                      policy=policy, guard=guard, history=history,
                      verify_password=ports.verify_password, new_id=ids,
                      subscribers=ports.subscribers),
        UsbLogin(proof=UsbProof(ports.pki), logins=certificate_logins, clock=clock),
        SimLogin(proof=SimProof(ports.pki), logins=certificate_logins, clock=clock),
    ]
    step_up_validity = timedelta(minutes=settings.step_up_minutes)
    return Profile(
        guard=guard,
        accounts=AccountOpening(uow=ports.uow, clock=clock, failpoints=ports.failpoints,
                                new_id=ids),
        # A staged password lives as long as the stream keeps the AccountCreated that may
        # claim it.
        credentials=CredentialStaging(credentials=ports.store.credentials, clock=clock,
                                      lifetime=timedelta(days=settings.events_max_age_days),
                                      hash_password=hash_password, new_id=ids),
        login=LoginFlow(strategies=strategies, store=ports.store,
                        certificate_logins=certificate_logins, policy=policy),
        vneid=VneidLogins(uow=ports.uow, store=ports.store, sessions=sessions, clock=clock,
                          policy=policy, history=history, new_id=ids),
        first_login=FirstLogin(store=ports.store, otp=ports.otp, clock=clock, policy=policy,
                               guard=guard, hash_password=hash_password),
        recovery=Recovery(uow=ports.uow, store=ports.store, otp=ports.otp, clock=clock,
                          policy=policy, guard=guard, hash_password=hash_password,
                          new_id=ids),
        sessions=sessions,
        session_management=SessionManagement(uow=ports.uow, store=ports.store,
                                             sessions=sessions, clock=clock,
                                             step_up_validity=step_up_validity),
        settings=AccountSettings(uow=ports.uow, store=ports.store, sessions=sessions,
                                 otp=ports.otp, pki=ports.pki, clock=clock, policy=policy,
                                 guard=guard, step_up_validity=step_up_validity,
                                 method_flow_ttl=timedelta(minutes=settings.login_flow_minutes),
                                 verify_password=ports.verify_password,
                                 hash_password=hash_password, new_id=ids),
        step_ups=StepUps(uow=ports.uow, sessions=sessions, otp=ports.otp, pki=ports.pki,
                         clock=clock, guard=guard, verify_password=ports.verify_password,
                         validity=step_up_validity, new_id=ids),
        notices=SecurityNotices(uow=ports.uow, sender=ports.notices),
        staff=StaffAccounts(uow=ports.uow, store=ports.store, clock=clock, sessions=sessions,
                            new_id=ids),
        activity=ActivityLog(store=ports.activity_store, key=settings.audit_secret,
                             authenticate=sessions.authenticate),
    )


def ports_from(infra: Infrastructure, settings: ProfileSettings,
               clock: Clock = system_clock) -> tuple[Ports, HttpSubscriberRegistry]:
    """The production ports (and the telco client, closed at stop)."""
    policy = policy_from(settings)
    mirror = NatsSessionMirror(infra.nc, idle=policy.session.idle,
                               absolute=policy.session.absolute,
                               replicas=settings.stream_replicas)

    def unit_of_work() -> ProfileUnitOfWork:
        # After each commit the relay is woken, so events leave at once.
        return ProfileUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify,
                                 mirror=mirror)

    rpc = RpcClient(infra.nc)
    timeout = settings.otp_timeout_seconds
    telco = HttpSubscriberRegistry(create_telco_client(
        settings.telco_url, settings.telco_api_key, settings.telco_timeout_seconds))
    ports = Ports(
        uow=unit_of_work, store=MongoStore(infra.db),
        guard_store=MongoGuardStore(infra.db), activity_store=MongoActivityLog(infra.db),
        otp=RpcOtpService(rpc, timeout=timeout), pki=RpcPkiService(rpc, timeout=timeout),
        notices=RpcNoticeSender(rpc, timeout=timeout), subscribers=telco,
        images=ImageCaptchaRenderer(), sounds=AudioCaptchaRenderer(), clock=clock,
        failpoints=infra.failpoints, mirror=mirror)
    return ports, telco
