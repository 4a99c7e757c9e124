"""Plugs account management (``account_management.py``, the ``/me`` routes) into profile's
wiring: ``me`` answers with the identity shaped per subject type, the ``me_*`` endpoints are
added (with the step-up, ``step_up.py``), the notices of changes are consumed
(``security_notices.py``), and the ``method_flows`` and ``step_ups`` indexes join profile's."""

from __future__ import annotations

from datetime import timedelta

from services.profile.account_management import AccountManagement
from services.profile.adapters.account_mongo import AccountUnitOfWork, with_account_indexes
from services.profile.adapters.mongo import MongoStore
from services.profile.adapters.notices import RpcNoticeSender
from services.profile.adapters.otp import RpcOtpService
from services.profile.adapters.pki import RpcPkiService
from services.profile.config import ProfileSettings
from services.profile.entrypoints import policy_from
from services.profile.handlers import Profile
from services.profile.security_notices import (
    SECURITY_NOTICE_CONSUMER,
    SecurityNotices,
)
from services.profile.step_up import StepUps
from shared.bus import Consumer
from shared.clock import Clock, system_clock
from shared.rpc import RpcClient
from shared.runtime import Infrastructure, Wiring


def build_account_management(infra: Infrastructure, settings: ProfileSettings,
                             profile: Profile,
                             clock: Clock = system_clock) -> AccountManagement:
    def unit_of_work() -> AccountUnitOfWork:
        return AccountUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify)

    rpc = RpcClient(infra.nc)
    return AccountManagement(
        uow=unit_of_work, store=MongoStore(infra.db),
        otp=RpcOtpService(rpc, timeout=settings.otp_timeout_seconds),
        pki=RpcPkiService(rpc, timeout=settings.otp_timeout_seconds),
        clock=clock, policy=policy_from(settings), profile=profile, guard=profile.guard,
        step_up_validity=timedelta(minutes=settings.step_up_minutes),
        method_flow_ttl=timedelta(minutes=settings.login_flow_minutes))


def build_step_ups(infra: Infrastructure, settings: ProfileSettings, profile: Profile,
                   clock: Clock = system_clock) -> StepUps:
    rpc = RpcClient(infra.nc)
    return StepUps(
        uow=lambda: AccountUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify),
        store=MongoStore(infra.db),
        otp=RpcOtpService(rpc, timeout=settings.otp_timeout_seconds),
        pki=RpcPkiService(rpc, timeout=settings.otp_timeout_seconds),
        clock=clock, policy=policy_from(settings), guard=profile.guard,
        validity=timedelta(minutes=settings.step_up_minutes))


def build_security_notices(infra: Infrastructure,
                           settings: ProfileSettings) -> SecurityNotices:
    return SecurityNotices(
        uow=lambda: AccountUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify),
        sender=RpcNoticeSender(RpcClient(infra.nc), timeout=settings.otp_timeout_seconds))


def add_step_up(wiring: Wiring, step_ups: StepUps, notices: SecurityNotices) -> Wiring:
    wiring.endpoints = dict(wiring.endpoints) | {
        "me_reauth_start": step_ups.start,
        "me_reauth_get": step_ups.get,
        "me_reauth_otp": step_ups.submit_otp,
        "me_reauth_signature": step_ups.submit_signature,
    }
    wiring.consumers = [*wiring.consumers,
                        Consumer(SECURITY_NOTICE_CONSUMER, ["SecurityNoticeRequested"],
                                 notices.on_notice_requested)]
    return wiring


def add_account_endpoints(wiring: Wiring, accounts: AccountManagement) -> Wiring:
    wiring.endpoints = dict(wiring.endpoints) | {
        "me": accounts.me,
        "me_update": accounts.me_update,
        "me_logins": accounts.me_logins,
        "me_sessions": accounts.me_sessions,
        "me_end_session": accounts.me_end_session,
        "me_auth_methods": accounts.me_auth_methods,
        "me_change_password": accounts.me_change_password,
        "me_add_method": accounts.me_add_method,
        "me_method_get": accounts.me_method_get,
        "me_method_otp": accounts.me_method_otp,
        "me_method_signature": accounts.me_method_signature,
        "me_remove_method": accounts.me_remove_method,
    }
    wiring.indexes = with_account_indexes(wiring.indexes)
    return wiring
