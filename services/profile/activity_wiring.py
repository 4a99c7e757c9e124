"""Plugs the account activity log (``activity.py``) into profile's wiring: its consumer of the
security events, ``me_activity``, ``admin_verify_audit``, ``admin_export_audit`` and its
indexes."""

from __future__ import annotations

from services.profile.activity import ACTIVITY_CONSUMER, ActivityLog
from services.profile.adapters.activity_mongo import MongoActivityLog, with_activity_indexes
from services.profile.config import ProfileSettings
from services.profile.domain.activity import ACTIVITY_EVENT_TYPES
from services.profile.handlers import Profile
from shared.bus import Consumer
from shared.runtime import Infrastructure, Wiring


def build_activity_log(infra: Infrastructure, settings: ProfileSettings,
                       profile: Profile) -> ActivityLog:
    return ActivityLog(store=MongoActivityLog(infra.db), key=settings.audit_secret,
                       authenticate=profile.authenticate)


def add_activity_log(wiring: Wiring, activity: ActivityLog) -> Wiring:
    wiring.endpoints = dict(wiring.endpoints) | {
        "me_activity": activity.me_activity,
        "admin_verify_audit": activity.admin_verify_audit,
        "admin_export_audit": activity.admin_export_audit,
    }
    wiring.consumers = [*wiring.consumers,
                        Consumer(ACTIVITY_CONSUMER, ACTIVITY_EVENT_TYPES, activity.on_event)]
    wiring.indexes = with_activity_indexes(wiring.indexes)
    return wiring
