"""Đăng nhập bằng VNeID (issue 15): profile's side, against in-memory fakes. The gateway
verified the ID token; these are the rules its claims meet here."""

from __future__ import annotations

from typing import Any

import pytest

from services.profile.domain.account_management import ensure_removable
from services.profile.domain.errors import Forbidden, LastAuthMethod, Unauthenticated
from services.profile.tests.test_handlers import ID_NUMBER, World, logged_in, make_world, with_account
from shared.contracts.base import ContractViolation
from shared.events import AccountCreated, new_event

SUB = "5f0c1c2e-8f0e-5b7e-9b1a-000000000001"


def claims(cccd: str = ID_NUMBER, sub: str = SUB) -> dict[str, Any]:
    return {"sub": sub, "cccd": cccd, "full_name": "Nguyễn Văn An", "birth_date": "1999-01-02"}


@pytest.fixture
def world() -> World:
    return make_world()


async def vneid_login(world: World, **kwargs: Any) -> dict[str, Any]:
    return await world.call("vneid_login", {"claims": claims(**kwargs), "ip": "10.0.0.7",
                                            "user_agent": "Firefox"})


async def test_no_account_of_the_cccd_is_said_and_nothing_is_made(world: World) -> None:
    assert await vneid_login(world) == {"status": "no_account"}
    assert world.store.accounts.rows == {} and world.store.sessions.rows == {}


async def test_an_unlinked_account_of_the_cccd_asks_for_one_proof_and_opens_nothing(
        world: World) -> None:
    await with_account(world)
    assert await vneid_login(world) == {"status": "link_required"}
    assert world.store.sessions.rows == {}
    assert not any(m.type == "vneid" for m in world.store.accounts.rows["acc-1"].auth_methods)


async def test_linked_after_a_login_then_later_logins_go_straight_in(world: World) -> None:
    await with_account(world)
    session = await logged_in(world)
    linked = await world.call("vneid_link", {"claims": claims(),
                                             "session_token": session["session_token"]})
    assert linked["status"] == "linked"
    methods = world.store.accounts.rows["acc-1"].auth_methods
    assert [m.details for m in methods if m.type == "vneid"] == [{"vneid_sub": SUB}]
    added = [e for e in world.store.published if e.type == "AuthMethodAdded"]
    assert added[-1].payload["type"] == "vneid"
    notice = [e for e in world.store.published if e.type == "SecurityNoticeRequested"][-1]
    assert notice.payload["change"] == "vneid_added" and notice.payload["phone_ids"]
    # Linking twice changes nothing.
    again = await world.call("vneid_link", {"claims": claims(),
                                            "session_token": session["session_token"]})
    assert again == {"status": "already_linked", "method_id": linked["method_id"]}

    done = await vneid_login(world)
    assert done["status"] == "completed" and done["level"] == 2 and done["session_token"]
    me = await world.call("me", {"session_token": done["session_token"]})
    assert me["account_id"] == "acc-1"
    session_row = next(s for s in world.store.sessions.rows.values()
                       if s.session_id == done["session_id"])
    assert (session_row.method, session_row.level, session_row.ip) == ("vneid", 2, "10.0.0.7")
    record = world.store.history.rows[-1]
    assert (record.method, record.result, record.account_id) == ("vneid", "success", "acc-1")
    succeeded = [e for e in world.store.published if e.type == "LoginSucceeded"]
    assert succeeded[-1].payload["method"] == "vneid"


async def test_a_vneid_identity_never_links_to_an_account_of_another_cccd(world: World) -> None:
    await with_account(world)
    session = await logged_in(world)
    with pytest.raises(Forbidden):
        await world.call("vneid_link", {"claims": claims(cccd="079203000111"),
                                        "session_token": session["session_token"]})
    assert not any(m.type == "vneid" for m in world.store.accounts.rows["acc-1"].auth_methods)


async def test_a_second_vneid_identity_for_a_linked_account_is_refused(world: World) -> None:
    await with_account(world)
    session = await logged_in(world)
    await world.call("vneid_link", {"claims": claims(), "session_token": session["session_token"]})
    other_sub = "5f0c1c2e-8f0e-5b7e-9b1a-000000000002"
    with pytest.raises(Forbidden):
        await vneid_login(world, sub=other_sub)
    with pytest.raises(Forbidden):
        await world.call("vneid_link", {"claims": claims(sub=other_sub),
                                        "session_token": session["session_token"]})


async def test_linking_needs_a_live_session(world: World) -> None:
    await with_account(world)
    with pytest.raises(Unauthenticated):
        await world.call("vneid_link", {"claims": claims(), "session_token": "not-a-session"})


async def test_a_sub_linked_elsewhere_does_not_open_an_account_of_another_cccd(
        world: World) -> None:
    """A (theoretical) VNeID sub naming another CCCD than the one it was linked under opens
    nothing: the linked account must be the CCCD's."""
    await with_account(world)
    session = await logged_in(world)
    await world.call("vneid_link", {"claims": claims(), "session_token": session["session_token"]})
    answer = await vneid_login(world, cccd="079203000111")
    assert answer == {"status": "no_account"}


@pytest.mark.parametrize("bad", [{"cccd": "12345"}, {"cccd": "00109901234x"}, {"sub": ""}])
async def test_claims_outside_the_contract_are_refused(world: World, bad: dict[str, str]) -> None:
    with pytest.raises(ContractViolation):
        await world.call("vneid_login", {"claims": claims() | bad})


async def test_an_account_registered_with_vneid_logs_in_with_it(world: World) -> None:
    created = AccountCreated(
        account_id="acc-v", registration_id="reg-v", subject_type="citizen", method="vneid",
        level=2, identity={"id_number": "079195000123",  # type: ignore[arg-type]
                           "full_name": "Lê Thị Mai", "birth_date": "1995-03-08",
                           "sex": "female", "id_type": "CCCD"},
        created_at="2026-01-01T00:00:00+00:00", vneid_sub=SUB)  # type: ignore[call-arg]
    await world.profile.accounts.on_account_created(new_event(created, correlation_id="reg-v"))
    account = world.store.accounts.rows["acc-v"]
    assert [(m.type, m.details) for m in account.auth_methods] == [("vneid", {"vneid_sub": SUB})]
    assert account.password_hash is None and account.phones == []
    done = await vneid_login(world, cccd="079195000123")
    assert done["status"] == "completed" and done["level"] == 2
    # Its only way in: VNeID cannot be removed while nothing else logs in.
    with pytest.raises(LastAuthMethod):
        ensure_removable(account, account.auth_methods[0])
