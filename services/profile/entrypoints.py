"""How the profile service plugs into the runtime: one flat table of its endpoints (each
served typed through its contract, ``shared/contracts/profile.py``) and consumers, and its
indexes (shared.runtime.serve calls ``wire`` once at start-up). The use cases are built in
``bootstrap.py``."""

from __future__ import annotations

from services.profile import metrics as profile_metrics
from services.profile.adapters.activity_mongo import ACTIVITY_INDEXES
from services.profile.adapters.guards import GUARD_INDEXES
from services.profile.adapters.identity_key_migration import migrate_identity_keys
from services.profile.adapters.mongo import merge_indexes
from services.profile.adapters.unit_of_work import PROFILE_INDEXES
from services.profile.bootstrap import Profile, bootstrap, ports_from
from services.profile.config import ProfileSettings
from services.profile.domain.activity import ACTIVITY_EVENT_TYPES
from services.profile.domain.devices import warm_up as load_device_rules
from services.profile.handlers.accounts import ACCOUNT_CREATED_CONSUMER
from services.profile.handlers.activity.log import ACTIVITY_CONSUMER
from services.profile.handlers.credentials import password_policy_view
from services.profile.handlers.settings.notices import SECURITY_NOTICE_CONSUMER
from shared.bus import Consumer
from shared.contracts import profile as P
from shared.contracts.session_mirror import SESSIONS_TOUCH
from shared.runtime import Infrastructure, Wiring


async def wire(infra: Infrastructure) -> Wiring:
    profile_metrics.install()  # the flow counters follow the facts this process commits
    load_device_rules()  # uap-core's rules compile now, not in the first history reader's wait
    settings = (infra.settings if isinstance(infra.settings, ProfileSettings)
                else ProfileSettings())
    ports, telco = ports_from(infra, settings)
    wiring = wiring_for(bootstrap(settings, ports))
    # Accounts older than typed identity keys get their type before anything is looked up.
    await migrate_identity_keys(infra.db)
    wiring.on_stop = [telco.close]
    return wiring


def wiring_for(profile: Profile) -> Wiring:
    """Every endpoint served typed (``shared/contracts/profile.py``), every consumer."""
    login, recovery, sessions = profile.login, profile.recovery, profile.sessions
    settings, step_ups, staff = profile.settings, profile.step_ups, profile.staff
    activity, managed = profile.activity, profile.session_management
    wiring = Wiring(
        consumers=[
            Consumer(ACCOUNT_CREATED_CONSUMER, ["AccountCreated"],
                     profile.accounts.on_account_created),
            Consumer(SECURITY_NOTICE_CONSUMER, ["SecurityNoticeRequested"],
                     profile.notices.on_notice_requested),
            Consumer(ACTIVITY_CONSUMER, ACTIVITY_EVENT_TYPES, activity.on_event),
        ],
        indexes=merge_indexes(PROFILE_INDEXES, GUARD_INDEXES, ACTIVITY_INDEXES),
    )
    serve = wiring.serve
    # Login (handlers/login): one flow, a strategy per method.
    serve(P.LOGIN_START, login.start)
    serve(P.LOGIN_GET, login.get)
    serve(P.LOGIN_SUBMIT_OTP, login.submit_otp)
    serve(P.LOGIN_RESEND_OTP, login.resend_otp)
    serve(P.LOGIN_SUBMIT_SIGNATURE, login.submit_signature)
    serve(P.LOGIN_CHANGE_PASSWORD, profile.first_login.login_change_password)
    serve(P.CAPTCHA_NEW, profile.guard.new_captcha)
    # VNeID (handlers/login/vneid.py): the gateway, with the claims of an ID token it verified.
    serve(P.VNEID_LOGIN, profile.vneid.log_in)
    serve(P.VNEID_LINK, profile.vneid.link)
    # Recovery (handlers/recovery).
    serve(P.LOGIN_OTP_PHONE, recovery.login_otp_phone)
    serve(P.LOGIN_LOST_PHONE, recovery.login_lost_phone)
    serve(P.RESET_START, recovery.reset_start)
    serve(P.RESET_RESEND_OTP, recovery.reset_resend_otp)
    serve(P.RESET_SUBMIT_OTP, recovery.reset_submit_otp)
    serve(P.RESET_SET_PASSWORD, recovery.reset_set_password)
    # Sessions (handlers/sessions).
    serve(P.AUTHENTICATE, sessions.authenticate)
    serve(P.ME, sessions.me)
    serve(P.LOGOUT, sessions.logout)
    serve(P.OIDC_CLAIMS, sessions.oidc_claims)  # the oidc service only (dvcid/nats_auth.py)
    serve(P.OIDC_SESSION_ALIVE, sessions.oidc_session_alive)  # the oidc service only
    serve(SESSIONS_TOUCH, sessions.touch_many)
    serve(P.AGENT_SESSION, staff.agent_session)
    serve(P.ME_LOGINS, managed.me_logins)
    serve(P.ME_SESSIONS, managed.me_sessions)
    serve(P.ME_END_SESSION, managed.me_end_session)
    # Settings (handlers/settings).
    serve(P.ME_UPDATE, settings.me_update)
    serve(P.ME_AUTH_METHODS, settings.me_auth_methods)
    serve(P.ME_CHANGE_PASSWORD, settings.me_change_password)
    serve(P.ME_ADD_METHOD, settings.me_add_method)
    serve(P.ME_METHOD_GET, settings.me_method_get)
    serve(P.ME_METHOD_OTP, settings.me_method_otp)
    serve(P.ME_METHOD_SIGNATURE, settings.me_method_signature)
    serve(P.ME_REMOVE_METHOD, settings.me_remove_method)
    serve(P.ME_REAUTH_START, step_ups.start)
    serve(P.ME_REAUTH_GET, step_ups.get)
    serve(P.ME_REAUTH_OTP, step_ups.submit_otp)
    serve(P.ME_REAUTH_SIGNATURE, step_ups.submit_signature)
    # Activity (handlers/activity).
    serve(P.ME_ACTIVITY, activity.me_activity)
    serve(P.ADMIN_VERIFY_AUDIT, activity.admin_verify_audit)
    serve(P.ADMIN_EXPORT_AUDIT, activity.admin_export_audit)
    # Staff (handlers/staff): the operator's tool and the agent's session.
    serve(P.ADMIN_CREATE_AGENT, staff.admin_create_agent)
    serve(P.ADMIN_CREATE_AGENCY, staff.admin_create_agency)
    serve(P.ADMIN_DISABLE_AGENT, staff.admin_disable_agent)
    serve(P.ADMIN_ENABLE_AGENT, staff.admin_enable_agent)
    # Credentials (handlers/credentials.py): the password rule's owner.
    serve(P.STAGE_CREDENTIAL, profile.credentials.stage_credential)
    serve(P.PASSWORD_POLICY, password_policy_view)
    return wiring
