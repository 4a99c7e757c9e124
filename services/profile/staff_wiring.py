"""Plugs the operator-made accounts and the agent's session (``staff.py``) into profile's
wiring: ``admin_create_agent``, ``admin_create_agency``, ``admin_disable_agent``,
``admin_enable_agent``, ``agent_session``."""

from __future__ import annotations

import uuid

from services.profile.adapters.mongo import MongoStore, ProfileUnitOfWork
from services.profile.handlers import Profile
from services.profile.staff import StaffAccounts
from shared.clock import Clock, system_clock
from shared.runtime import Infrastructure, Wiring


def build_staff_accounts(infra: Infrastructure, profile: Profile,
                         clock: Clock = system_clock) -> StaffAccounts:
    def unit_of_work() -> ProfileUnitOfWork:
        return ProfileUnitOfWork(infra.mongo, infra.db, on_commit=infra.relay.notify)

    return StaffAccounts(uow=unit_of_work, store=MongoStore(infra.db), clock=clock,
                         profile=profile, new_id=lambda: str(uuid.uuid4()))


def add_staff_endpoints(wiring: Wiring, staff: StaffAccounts) -> Wiring:
    wiring.endpoints = dict(wiring.endpoints) | {
        "admin_create_agent": staff.admin_create_agent,
        "admin_create_agency": staff.admin_create_agency,
        "agent_session": staff.agent_session,
        "admin_disable_agent": staff.admin_disable_agent,
        "admin_enable_agent": staff.admin_enable_agent,
    }
    return wiring
