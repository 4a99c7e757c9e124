"""Operator-made accounts (agents, agencies), the agent's session, and the first login of a
post-office account, against fakes."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from services.profile.domain.errors import (
    AccountDisabled,
    AccountExists,
    Forbidden,
    InvalidCredentials,
    InvalidPhone,
    NotFound,
    ReauthenticationRequired,
    Unauthenticated,
    ValidationFailed,
)
from services.profile.handlers.staff.accounts import StaffAccounts
from services.profile.tests.fakes import FakeUnitOfWork, fast_password_hash
from services.profile.tests.test_handlers import (
    ID_NUMBER,
    World,
    logged_in,
    make_world,
)
from shared.contracts import profile as P
from shared.contracts.base import ContractViolation
from shared.events import AccountCreated, new_event
from shared.rpc import serving

INITIAL = "Kh0i-Tao#x9Q"
NEW_PASSWORD = "Sen-Vang#2027vn"
AGENT = {"id_number": "001088001122", "full_name": "Lê Thị Thu", "phone": "0912 000 111",
         "office": "Bưu điện Hà Nội", "office_code": "HN-001"}
AGENCY = {"code": "000.00.00.H29", "name": "Sở Tư pháp Hà Nội", "email": "stp@hanoi.gov.vn",
          "phone": "0913000222", "user_id_number": "001077003344",
          "user_full_name": "Phạm Văn Minh"}


class ServedStaff:
    """The staff endpoints as the service serves them (their contracts read the requests)."""

    def __init__(self, staff: StaffAccounts) -> None:
        self.admin_create_agent = serving(P.ADMIN_CREATE_AGENT, staff.admin_create_agent)
        self.admin_create_agency = serving(P.ADMIN_CREATE_AGENCY, staff.admin_create_agency)
        self.admin_disable_agent = serving(P.ADMIN_DISABLE_AGENT, staff.admin_disable_agent)
        self.admin_enable_agent = serving(P.ADMIN_ENABLE_AGENT, staff.admin_enable_agent)
        self.agent_session = serving(P.AGENT_SESSION, staff.agent_session)


def staff_of(world: World, usernames: list[str] | None = None) -> ServedStaff:
    ids = (f"staff-{n}" for n in itertools.count())
    names = iter(usernames or [f"NV{n:08d}" for n in range(1, 100)])
    return ServedStaff(StaffAccounts(uow=lambda: FakeUnitOfWork(world.store), store=world.store,
                                     clock=world.clock, sessions=world.profile.sessions,
                                     new_id=lambda: next(ids),
                                     new_username=lambda: next(names)))


def with_hash(request: dict[str, Any]) -> dict[str, Any]:
    return request | {"password_hash": fast_password_hash(INITIAL)}


async def first_login(world: World, username: str) -> dict[str, Any]:
    """Initial password → change → OTP: the session."""
    flow = await world.call("login_start", {"method": "password", "username": username,
                                            "password": INITIAL})
    assert flow["status"] == "password_change_required"
    assert world.otp.issued == [] or world.otp.issued[-1]["flow_id"] != flow["id"]
    ref = {"id": flow["id"], "flow_token": flow["flow_token"]}
    changed = await world.call("login_change_password",
        ref | {"new_password": NEW_PASSWORD, "new_password_confirmation": NEW_PASSWORD})
    assert changed["status"] == "otp_sent"
    return await world.call("login_submit_otp", ref | {"code": world.otp.code})


async def test_an_agent_gets_an_issued_username_and_must_change_the_initial_password() -> None:
    world = make_world()
    created = await staff_of(world).admin_create_agent(with_hash(AGENT))
    assert created["username"] == "NV00000001" and created["roles"] == ["agent"]
    assert created["phone_masked"] == "+8491****111"
    account = world.store.accounts.rows[created["account_id"]]
    assert account.must_change_password and account.index_key == "agent:CCCD:001088001122"
    session = await first_login(world, "NV00000001")
    assert session["status"] == "completed"
    me = await world.call("me", {"session_token": session["session_token"]})
    assert me["roles"] == ["agent"]
    assert me["organisation"] == {"type": "post_office", "name": "Bưu điện Hà Nội",
                                  "code": "HN-001"}
    # Not on the bus: registration's duplicate projection is about self-registration.
    assert world.store.published == [] or all(e.type != "AccountCreated"
                                              for e in world.store.published)


async def test_an_agent_and_the_same_persons_citizen_account_coexist() -> None:
    world = make_world()
    await staff_of(world).admin_create_agent(with_hash(AGENT | {"id_number": ID_NUMBER}))
    session = await logged_in(world)  # the citizen account of ID_NUMBER, made afterwards
    me = await world.call("me", {"session_token": session["session_token"]})
    assert me["identity"]["id_number"] == ID_NUMBER and "roles" not in me


async def test_a_second_agent_account_for_one_person_is_refused() -> None:
    world = make_world()
    staff = staff_of(world)
    await staff.admin_create_agent(with_hash(AGENT))
    with pytest.raises(AccountExists):
        await staff.admin_create_agent(with_hash(AGENT))


async def test_a_taken_username_is_drawn_again() -> None:
    world = make_world()
    staff = staff_of(world, ["NV00000007", "NV00000007", "NV00000008"])
    await staff.admin_create_agent(with_hash(AGENT))
    other = await staff.admin_create_agent(with_hash(AGENT | {"id_number": "001088009999"}))
    assert other["username"] == "NV00000008"


@pytest.mark.parametrize("change, error", [
    ({"password_hash": "plain-text-password-12345"}, ValidationFailed),
    ({"id_number": "12AB"}, ValidationFailed),
    ({"office": ""}, ContractViolation),  # under its contract's bounds
    ({"phone": "0241234567"}, InvalidPhone),  # a Hà Nội landline gets no SMS
])
async def test_a_malformed_agent_is_refused(change: dict[str, Any], error: type[Exception]) -> None:
    world = make_world()
    with pytest.raises(error):
        await staff_of(world).admin_create_agent(with_hash(AGENT) | change)
    assert world.store.accounts.rows == {}


async def test_an_agencys_first_user_logs_in_with_the_agency_code() -> None:
    world = make_world()
    created = await staff_of(world).admin_create_agency(with_hash(AGENCY))
    assert created["username"] == "000.00.00.H29" and created["subject_type"] == "agency"
    session = await first_login(world, "000.00.00.H29")
    me = await world.call("me", {"session_token": session["session_token"]})
    assert me["subject_type"] == "agency"
    assert me["identity"]["id_number"] == "000.00.00.H29"
    assert me["identity"]["full_name"] == "Sở Tư pháp Hà Nội"
    assert me["organisation"]["user"] == {"id_number": "001077003344",
                                          "full_name": "Phạm Văn Minh"}
    assert me["contacts"]["email"] == "stp@hanoi.gov.vn"
    with pytest.raises(AccountExists):
        await staff_of(world).admin_create_agency(with_hash(AGENCY))


async def test_agent_session_names_the_office_and_refuses_other_accounts() -> None:
    world = make_world()
    created = await staff_of(world).admin_create_agent(with_hash(AGENT))
    agent = await first_login(world, created["username"])
    answer = await staff_of(world).agent_session({"session_token": agent["session_token"]})
    assert answer["account_id"] == created["account_id"]
    assert answer["office"] == {"name": "Bưu điện Hà Nội", "code": "HN-001"}
    citizen = await logged_in(world)
    with pytest.raises(Forbidden):
        await staff_of(world).agent_session({"session_token": citizen["session_token"]})


async def test_an_agent_session_must_be_recent_or_stepped_up() -> None:
    world = make_world()
    created = await staff_of(world).admin_create_agent(with_hash(AGENT))
    agent = await first_login(world, created["username"])
    token = {"session_token": agent["session_token"]}
    world.clock.advance(minutes=14)
    await staff_of(world).agent_session(token)  # still within 15 minutes of the login
    world.clock.advance(minutes=2)
    with pytest.raises(ReauthenticationRequired):
        await staff_of(world).agent_session(token)
    # A step-up of this session makes it fresh again.
    [session] = [s for s in world.store.sessions.rows.values()
                 if s.account_id == created["account_id"]]
    session.reauthenticated_at, session.reauthenticated_level = world.clock(), 2
    await staff_of(world).agent_session(token)


async def test_a_disabled_agent_is_logged_out_and_cannot_log_in_until_enabled() -> None:
    world = make_world()
    staff = staff_of(world)
    created = await staff.admin_create_agent(with_hash(AGENT))
    agent = await first_login(world, created["username"])
    world.store.published.clear()
    answer = await staff.admin_disable_agent({"username": created["username"]})
    assert answer["disabled"] is True and answer["sessions_ended"] == 1
    assert [e.payload["reason"] for e in world.store.published] == ["agent_disabled"]
    with pytest.raises(Unauthenticated):
        await staff.agent_session({"session_token": agent["session_token"]})
    login = {"method": "password", "username": created["username"], "password": NEW_PASSWORD}
    with pytest.raises(AccountDisabled):
        await world.call("login_start", login)
    # A wrong password still says only that: the disabled state is no oracle for strangers.
    with pytest.raises(InvalidCredentials):
        await world.call("login_start", login | {"password": "Sai-Mat#Khau1"})
    await staff.admin_enable_agent({"username": created["username"]})
    flow = await world.call("login_start", login)
    assert flow["status"] == "otp_sent"
    # A login begun before the agent was disabled does not finish after.
    await staff.admin_disable_agent({"username": created["username"]})
    with pytest.raises(AccountDisabled):
        await world.call("login_submit_otp", {"id": flow["id"], "flow_token": flow["flow_token"],
                                              "code": world.otp.code})


async def test_only_agents_can_be_disabled() -> None:
    world = make_world()
    with pytest.raises(NotFound):
        await staff_of(world).admin_disable_agent({"username": "NV99999999"})
    with pytest.raises(ValidationFailed):
        await staff_of(world).admin_disable_agent({"username": ID_NUMBER})


async def test_a_post_office_account_takes_its_issued_username_and_one_time_password() -> None:
    world = make_world()
    created = AccountCreated.model_validate(dict(
        account_id="acc-po", registration_id="po-1", subject_type="citizen",
        method="post_office", level=3,
        identity={"id_number": ID_NUMBER, "full_name": "Nguyễn Văn An",
                  "birth_date": "1999-01-02", "sex": "male"},
        phone="+84912345567", password_hash=fast_password_hash(INITIAL),
        created_at="2026-01-01T00:00:00+00:00", username="BD0123456789",
        must_change_password=True,
        registered_by={"agent_account_id": "staff-0", "office": {"name": "Bưu điện Hà Nội"}}))
    await world.profile.accounts.on_account_created(new_event(created, correlation_id="po-1"))
    account = world.store.accounts.rows["acc-po"]
    assert account.username == "BD0123456789" and account.level == 3
    session = await first_login(world, "BD0123456789")
    assert session["status"] == "completed"
    assert world.store.accounts.rows["acc-po"].must_change_password is False
    # The new password is the password from now on: no second change asked.
    again = await world.call("login_start", {"method": "password", "username": "BD0123456789",
                                             "password": NEW_PASSWORD})
    assert again["status"] == "otp_sent"


@pytest.mark.parametrize("code", ["123456789", "001090123456"])
async def test_an_agency_code_that_is_a_personal_number_is_refused(code: str) -> None:
    # The code is the agency's username: it would be read as someone's CMND/CCCD at login.
    world = make_world()
    with pytest.raises(ValidationFailed):
        await staff_of(world).admin_create_agency(with_hash(AGENCY | {"code": code}))
    assert world.store.accounts.rows == {}
