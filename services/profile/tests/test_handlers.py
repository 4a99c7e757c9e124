"""The use cases against fakes and a frozen clock: every rule, no servers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from services.profile.bootstrap import Profile, policy_from
from services.profile.domain import password_policy
from services.profile.domain.errors import (
    CredentialMissing,
    FlowExpired,
    FlowState,
    InvalidCredentials,
    NotFound,
    OtpRejected,
    PasswordMismatch,
    PasswordPolicy,
    Unauthenticated,
)
from services.profile.handlers.accounts import ACCOUNT_COMMITTED_FAILPOINT
from services.profile.handlers.credentials import CredentialStaging, password_policy_view
from services.profile.tests.fakes import (
    TEST_SETTINGS,
    FakeOtp,
    FakeStore,
    RecordingFailpoints,
    Served,
    fake_profile,
    fast_password_hash,
)
from shared import crypto
from shared.clock import FrozenClock
from shared.contracts.base import ContractViolation, Empty
from shared.contracts.otp import VerifiedOtp
from shared.contracts.profile import STAGE_CREDENTIAL, StageCredential
from shared.events import AccountCreated, Envelope, new_event
from shared.rpc import serving

PASSWORD = "Matkhau#2026"
ID_NUMBER = "001099012345"
POLICY = policy_from(TEST_SETTINGS)
_HASH = fast_password_hash(PASSWORD)


@dataclass
class World:
    profile: Profile
    store: FakeStore
    otp: FakeOtp
    clock: FrozenClock
    failpoints: RecordingFailpoints

    async def call(self, endpoint: str, payload: dict[str, Any]) -> Any:
        """``endpoint`` as the service serves it: the request read into its contract, the
        answer's JSON (what the gateway receives)."""
        return await getattr(Served(self.profile), endpoint)(payload)


def make_world(otp: FakeOtp | None = None, **ports: Any) -> World:
    """Every use case from the service's bootstrap, on fakes; ``ports``: other fakes
    (fakes.fake_ports), ``settings``: other settings."""
    store, clock, failpoints = FakeStore(), FrozenClock(), RecordingFailpoints()
    otp = otp or FakeOtp()
    profile = fake_profile(store, clock, otp=otp, failpoints=failpoints, **ports)
    return World(profile, store, otp, clock, failpoints)


@pytest.fixture
def world() -> World:
    return make_world()


def account_created(account_id: str = "acc-1", id_number: str = ID_NUMBER,
                    phone: str | None = "+84912345567",
                    credential_id: str | None = None) -> Envelope:
    """With ``credential_id``, the event as registration publishes it since issue 11 (the
    password staged in profile); without, an event from before, carrying the hash itself."""
    password = {"credential_id": credential_id} if credential_id else {"password_hash": _HASH}
    payload = AccountCreated.model_validate(dict(
        account_id=account_id, registration_id="reg-1", subject_type="citizen",
        method="mobile", level=2,
        identity={"id_number": id_number, "full_name": "Nguyễn Văn An",
                  "birth_date": "1999-01-02", "sex": "male"},
        phone=phone, email="an@example.vn", created_at="2026-01-01T00:00:00+00:00",
        **password))
    return new_event(payload, correlation_id="reg-1")


async def with_account(world: World, **kwargs: Any) -> None:
    await world.profile.accounts.on_account_created(account_created(**kwargs))
    # The setup's own fact (AccountActivated) is not what the tests below look at.
    world.store.published[:] = [e for e in world.store.published
                                if e.type != "AccountActivated"]


async def started(world: World, **extra: Any) -> dict[str, Any]:
    return await world.call("login_start", {"method": "password", "username": ID_NUMBER,
                                            "password": PASSWORD, **extra})


async def logged_in(world: World) -> dict[str, Any]:
    await with_account(world)
    flow = await started(world)
    return await world.call("login_submit_otp", {"id": flow["id"],
                                                 "flow_token": flow["flow_token"],
                                                 "code": world.otp.code})


def event_types(world: World) -> list[str]:
    return [e.type for e in world.store.published]


# --- AccountCreated ----------------------------------------------------------------------

async def test_account_created_opens_the_account_and_hits_the_crash_failpoint(world: World) -> None:
    await with_account(world)
    account = world.store.accounts.rows["acc-1"]
    assert account.username == ID_NUMBER and account.id_number == ID_NUMBER
    assert account.password_hash == _HASH
    assert [p.phone for p in account.phones] == ["+84912345567"]
    assert {m.type for m in account.auth_methods} == {"password", "sms"}
    assert world.failpoints.hits == [ACCOUNT_COMMITTED_FAILPOINT]


async def test_the_committed_account_is_announced_as_activated(world: World) -> None:
    # Read-your-writes (issue 12): registration answers "completed" only on this fact, so it
    # leaves with the account's own commit, naming the registration it completes.
    await world.profile.accounts.on_account_created(account_created())
    [activated] = [e for e in world.store.published if e.type == "AccountActivated"]
    assert activated.payload == {"account_id": "acc-1", "registration_id": "reg-1"}
    assert activated.correlation_id == "reg-1"
    assert "acc-1" in world.store.accounts.rows


async def test_a_redelivered_account_created_changes_nothing(world: World) -> None:
    event = account_created()
    await world.profile.accounts.on_account_created(event)
    before = world.store.accounts.rows["acc-1"]
    await world.profile.accounts.on_account_created(event)
    assert world.store.accounts.rows == {"acc-1": before}


async def test_the_same_account_announced_by_another_event_is_created_once(world: World) -> None:
    await with_account(world)
    before = world.store.accounts.rows["acc-1"]
    await with_account(world)  # a new event id, the same account
    assert world.store.accounts.rows == {"acc-1": before}


# --- login_start -------------------------------------------------------------------------

async def test_wrong_password_and_unknown_user_get_the_same_answer(world: World) -> None:
    await with_account(world)
    with pytest.raises(InvalidCredentials) as wrong:
        await world.call("login_start", {"method": "password", "username": ID_NUMBER,
                                         "password": "not-it", "ip": "203.0.113.9"})
    with pytest.raises(InvalidCredentials) as unknown:
        await world.call("login_start", {"method": "password", "username": "079200000000",
                                         "password": PASSWORD})
    assert wrong.value.to_error() == unknown.value.to_error()
    assert event_types(world) == ["LoginFailed", "LoginFailed"]
    assert [(r.account_id, r.result, r.reason, r.ip) for r in world.store.history.rows] == [
        ("acc-1", "failure", "invalid_credentials", "203.0.113.9"),
        (None, "failure", "invalid_credentials", None)]
    assert not world.store.logins.rows and not world.otp.issued
    for event in world.store.published:
        assert PASSWORD not in event.model_dump_json() and "not-it" not in event.model_dump_json()


async def test_the_right_password_opens_a_flow_and_sends_the_login_code(world: World) -> None:
    await with_account(world)
    reply = await started(world)
    assert reply["status"] == "otp_sent" and reply["phone_masked"] == "+8491****567"
    assert reply["alternatives"] == []
    flow = world.store.logins.rows[reply["id"]]
    assert flow.flow_token_hash == crypto.keyed_hash(POLICY.flow_secret, reply["flow_token"])
    assert flow.expires_at == world.clock.now + timedelta(minutes=10)
    assert world.otp.issued == [{"flow_id": reply["id"], "purpose": "login",
                                 "phone": "+84912345567"}]


async def test_the_other_otp_phones_are_offered_as_alternatives(world: World) -> None:
    await with_account(world)
    account = world.store.accounts.rows["acc-1"]
    extra = type(account.phones[0])("phone-2", "+84381234678", True, world.clock.now)
    account.phones.append(extra)
    reply = await started(world)
    assert reply["alternatives"] == [{"phone_id": "phone-2", "phone_masked": "+8438****678"}]


async def test_an_otp_refusal_reaches_the_caller_unchanged(world: World) -> None:
    await with_account(world)
    world.otp.issue_error = OtpRejected("otp_send_limit", "Quá số lần gửi.", retry_after=1800)
    with pytest.raises(OtpRejected) as err:
        await started(world)
    assert err.value.to_error() == {"code": "otp_send_limit", "detail": "Quá số lần gửi.",
                                    "retry_after": 1800}


async def test_a_malformed_login_is_a_validation_error(world: World) -> None:
    with pytest.raises(ContractViolation) as refused:
        await world.call("login_start", {"method": "password", "username": ID_NUMBER})
    error = refused.value.to_error()
    assert error["code"] == "validation_error"
    assert [f["name"].rsplit(".", 1)[-1] for f in error["fields"]] == ["password"]


# --- login_get / login_resend_otp --------------------------------------------------------

async def test_a_flow_exists_only_for_the_holder_of_its_token(world: World) -> None:
    await with_account(world)
    flow = await started(world)
    assert await world.call("login_get", {"id": flow["id"], "flow_token": flow["flow_token"]}) \
        == {"id": flow["id"], "status": "otp_sent", "method": "password",
            "phone_masked": "+8491****567"}
    with pytest.raises(NotFound):
        await world.call("login_get", {"id": flow["id"], "flow_token": "guess"})
    with pytest.raises(NotFound):
        await world.call("login_get", {"id": "nope", "flow_token": flow["flow_token"]})
    world.clock.advance(minutes=10)
    with pytest.raises(FlowExpired):
        await world.call("login_get", {"id": flow["id"], "flow_token": flow["flow_token"]})


async def test_resend_sends_a_new_code_to_the_same_phone_while_the_flow_waits(world: World) -> None:
    await with_account(world)
    flow = await started(world)
    ref = {"id": flow["id"], "flow_token": flow["flow_token"]}
    reply = await world.call("login_resend_otp", ref)
    assert reply == {"status": "otp_sent", "resend_available_at": "2026-01-01T00:01:00+00:00"}
    assert [i["phone"] for i in world.otp.issued] == ["+84912345567", "+84912345567"]
    world.otp.issue_error = OtpRejected("otp_resend_too_soon", "Chờ 60 giây.", retry_after=60)
    with pytest.raises(OtpRejected) as err:
        await world.call("login_resend_otp", ref)
    assert err.value.retry_after == 60
    world.otp.issue_error = None
    await world.call("login_submit_otp", {**ref, "code": world.otp.code})
    with pytest.raises(FlowState):
        await world.call("login_resend_otp", ref)


# --- login_submit_otp --------------------------------------------------------------------

async def test_the_right_code_completes_the_login_with_a_level_2_session(world: World) -> None:
    await with_account(world)
    flow = await started(world, ip="203.0.113.9", user_agent="Firefox")
    reply = await world.call("login_submit_otp", {"id": flow["id"],
                                                  "flow_token": flow["flow_token"],
                                                  "code": world.otp.code})
    assert reply["status"] == "completed" and reply["level"] == 2
    assert reply["expires_at"] == (world.clock.now + timedelta(minutes=30)).isoformat()
    session = world.store.sessions.rows[reply["session_id"]]
    assert session.token_hash == crypto.keyed_hash(POLICY.session_secret, reply["session_token"])
    assert reply["session_token"] not in repr(session)
    assert (session.level, session.method, session.ip, session.user_agent) == (
        2, "password", "203.0.113.9", "Firefox")
    assert session.absolute_expires_at == world.clock.now + timedelta(hours=12)
    assert world.store.logins.rows[flow["id"]].status == "completed"
    assert event_types(world) == ["LoginSucceeded"]
    assert [(r.result, r.login_id) for r in world.store.history.rows] == [("success", flow["id"])]


async def test_a_code_is_accepted_once(world: World) -> None:
    await with_account(world)
    flow = await started(world)
    submit = {"id": flow["id"], "flow_token": flow["flow_token"], "code": world.otp.code}
    await world.call("login_submit_otp", submit)
    with pytest.raises(FlowState):
        await world.call("login_submit_otp", submit)
    assert len(world.store.sessions.rows) == 1


class LenientOtp(FakeOtp):
    """Accepts any number of times and yields first, so parallel submits interleave."""

    async def verify(self, flow_id: str, purpose: str, phone: str,
                     code: str) -> VerifiedOtp:
        await asyncio.sleep(0)
        return VerifiedOtp(verified=True, phone=phone, challenge_id="c")


async def test_parallel_submits_of_one_flow_open_one_session() -> None:
    # The conditional flow update is the guard, whatever the otp service answers.
    world = make_world(LenientOtp())
    await with_account(world)
    flow = await started(world)
    submit = {"id": flow["id"], "flow_token": flow["flow_token"], "code": "111111"}
    results = await asyncio.gather(*(world.call("login_submit_otp", submit) for _ in range(5)),
                                   return_exceptions=True)
    assert sum(isinstance(r, dict) for r in results) == 1
    assert all(isinstance(r, FlowState) for r in results if not isinstance(r, dict))
    assert len(world.store.sessions.rows) == 1
    assert event_types(world) == ["LoginSucceeded"]


async def test_a_wrong_code_is_passed_through_and_recorded(world: World) -> None:
    await with_account(world)
    flow = await started(world)
    with pytest.raises(OtpRejected) as err:
        await world.call("login_submit_otp", {"id": flow["id"],
                                              "flow_token": flow["flow_token"],
                                              "code": "000000"})
    assert err.value.code == "otp_invalid"
    assert event_types(world) == ["LoginFailed"]
    assert world.store.history.rows[-1].reason == "otp_invalid"
    assert world.store.logins.rows[flow["id"]].status == "otp_sent"


async def test_a_code_after_the_flow_expired_is_refused(world: World) -> None:
    await with_account(world)
    flow = await started(world)
    world.clock.advance(minutes=11)
    with pytest.raises(FlowExpired):
        await world.call("login_submit_otp", {"id": flow["id"],
                                              "flow_token": flow["flow_token"],
                                              "code": world.otp.code})
    assert not world.otp.verified


# --- sessions ----------------------------------------------------------------------------

async def test_authenticate_answers_the_session_and_slides_its_idle_expiry(world: World) -> None:
    login = await logged_in(world)
    world.clock.advance(minutes=20)
    answer = await world.call("authenticate", {"session_token": login["session_token"]})
    assert answer == {"account_id": "acc-1", "session_id": login["session_id"], "level": 2,
                      "expires_at": (world.clock.now + timedelta(minutes=30)).isoformat()}


async def test_an_idle_session_expires(world: World) -> None:
    login = await logged_in(world)
    world.clock.advance(minutes=30)
    with pytest.raises(Unauthenticated):
        await world.call("authenticate", {"session_token": login["session_token"]})


async def test_an_active_session_still_ends_at_the_absolute_limit(world: World) -> None:
    login = await logged_in(world)
    token = {"session_token": login["session_token"]}
    for _ in range(12 * 3 - 1):  # a request every 20 minutes for 11h40
        world.clock.advance(minutes=20)
        answer = await world.call("authenticate", token)
    assert answer["expires_at"] == (world.clock.now + timedelta(minutes=20)).isoformat()
    world.clock.advance(minutes=20)
    with pytest.raises(Unauthenticated):
        await world.call("authenticate", token)


async def test_unknown_or_missing_tokens_are_unauthenticated(world: World) -> None:
    with pytest.raises(Unauthenticated):
        await world.call("authenticate", {"session_token": "forged"})
    # No token, or one that is no string, is no session either: refused by the contract
    # before any lookup (the gateway sends neither: without a token it answers 401 itself).
    for payload in ({}, {"session_token": 42}):
        with pytest.raises(ContractViolation) as refused:
            await world.call("authenticate", payload)
        assert refused.value.fields == ["session_token"]


async def test_me_shows_the_owner_their_account(world: World) -> None:
    login = await logged_in(world)
    me = await world.call("me", {"session_token": login["session_token"]})
    phone_id = world.store.accounts.rows["acc-1"].phones[0].phone_id
    assert me == {
        "account_id": "acc-1", "subject_type": "citizen", "level": 2,
        # The identity shaped per subject type (a citizen's addresses), and what the owner
        # may edit, as the served ``me`` always answered.
        "identity": {"id_number": ID_NUMBER, "full_name": "Nguyễn Văn An",
                     "birth_date": "1999-01-02", "sex": "male", "addresses": []},
        "contacts": {"phones": [{"phone_id": phone_id, "phone_masked": "+8491****567",
                                 "otp": True}],
                     "email": "an@example.vn", "address": None},
        "editable": ["email", "address"],
    }


async def test_logout_revokes_at_once_and_twice_is_harmless(world: World) -> None:
    login = await logged_in(world)
    token = {"session_token": login["session_token"]}
    assert await world.call("logout", token) == {}
    with pytest.raises(Unauthenticated):
        await world.call("authenticate", token)
    with pytest.raises(Unauthenticated):
        await world.call("me", token)
    assert await world.call("logout", token) == {}
    assert await world.call("logout", {"session_token": "unknown"}) == {}
    assert event_types(world) == ["LoginSucceeded", "SessionRevoked"]
    assert world.store.sessions.rows[login["session_id"]].revoked_at == world.clock.now


# --- staged credentials (issue 11) --------------------------------------------------------

async def test_account_created_takes_the_staged_password_and_the_event_carries_none(
        world: World) -> None:
    staging = CredentialStaging(credentials=world.store.credentials, clock=world.clock,
                                lifetime=timedelta(days=7), hash_password=_fast_hash,
                                new_id=lambda: "cred-1")
    staged = await staging.stage_credential(stage("reg-1"))
    assert staged.wire() == {"credential_id": "cred-1"}
    stored = world.store.credentials.rows["cred-1"]
    assert stored.password_hash != PASSWORD and stored.expires_at - stored.created_at == \
        timedelta(days=7)

    event = account_created(credential_id="cred-1")
    assert "$argon2" not in event.model_dump_json()
    await world.profile.accounts.on_account_created(event)
    account = world.store.accounts.rows["acc-1"]
    assert await crypto.verify_password(account.password_hash, PASSWORD)
    # Taken once: the hash now lives in the account only.
    assert world.store.credentials.rows == {}
    # A redelivery finds the event processed; it needs the credential no more.
    await world.profile.accounts.on_account_created(event)
    assert world.store.accounts.rows["acc-1"].password_hash == account.password_hash


async def test_an_account_is_never_made_without_the_password_its_event_names(
        world: World) -> None:
    with pytest.raises(CredentialMissing):
        await world.profile.accounts.on_account_created(account_created(credential_id="cred-gone"))
    assert world.store.accounts.rows == {}


async def test_a_credential_staged_for_another_registration_is_not_taken(world: World) -> None:
    staging = CredentialStaging(credentials=world.store.credentials, clock=world.clock,
                                lifetime=timedelta(days=7), hash_password=_fast_hash,
                                new_id=lambda: "cred-1")
    await staging.stage_credential(stage("reg-other"))
    with pytest.raises(CredentialMissing):
        await world.profile.accounts.on_account_created(account_created(credential_id="cred-1"))
    assert "cred-1" in world.store.credentials.rows


@pytest.mark.parametrize("payload", [{}, {"registration_id": "reg-1"},
                                     {"registration_id": "reg-1", "password": ""},
                                     {"registration_id": "reg-1", "password": "x" * 1025},
                                     {"registration_id": 5, "password": PASSWORD}])
async def test_stage_credential_refuses_bad_input_without_echoing_it(
        world: World, payload: dict[str, Any]) -> None:
    staging = CredentialStaging(credentials=world.store.credentials, clock=world.clock,
                                lifetime=timedelta(days=7), hash_password=_fast_hash)
    endpoint = serving(STAGE_CREDENTIAL, staging.stage_credential)
    full = {"password_confirmation": PASSWORD, "id_number": ID_NUMBER, "phone": "+84912345567"}
    with pytest.raises(ContractViolation) as refused:
        await endpoint(full | payload if payload else payload)
    assert PASSWORD not in repr(refused.value.to_error())
    assert world.store.credentials.rows == {}


# --- the password rule: profile is its one owner (issue 16) -------------------------------

def stage(registration_id: str = "reg-1", password: str = PASSWORD,
          confirmation: str | None = None, phone: str = "+84912345567") -> StageCredential:
    return StageCredential(registration_id=registration_id, password=password,
                           password_confirmation=password if confirmation is None
                           else confirmation, id_number=ID_NUMBER, phone=phone)


def _staging(world: World) -> CredentialStaging:
    return CredentialStaging(credentials=world.store.credentials, clock=world.clock,
                             lifetime=timedelta(days=7), hash_password=_fast_hash)


async def test_stage_credential_answers_the_policy_as_registration_always_did(
        world: World) -> None:
    with pytest.raises(PasswordPolicy) as refused:
        await _staging(world).stage_credential(stage(password="abc", confirmation="xyz"))
    # The rule comes before the confirmation; every unmet rule at once, in order.
    error = refused.value.to_error()
    assert error["code"] == "password_policy"
    assert [f["rule"] for f in error["fields"]] == ["min_length", "uppercase", "digit",
                                                    "special"]
    assert error["fields"][0] == {"name": "password", "rule": "min_length",
                                  "detail": "Mật khẩu cần có ít nhất 8 ký tự."}
    assert error["detail"].startswith("Mật khẩu chưa đạt yêu cầu. Mật khẩu cần: có ít nhất 8")
    assert world.store.credentials.rows == {}


async def test_stage_credential_refuses_a_confirmation_that_differs(world: World) -> None:
    with pytest.raises(PasswordMismatch) as refused:
        await _staging(world).stage_credential(stage(confirmation=PASSWORD + "x"))
    detail = "Mật khẩu nhập lại không khớp với mật khẩu đã nhập."
    assert refused.value.to_error() == {
        "code": "password_mismatch", "detail": detail,
        "fields": [{"name": "password_confirmation", "detail": detail}]}
    assert world.store.credentials.rows == {}


@pytest.mark.parametrize("password", ["Abc!0912345567", "Abc!912345567x", "Abc!84912345567"])
async def test_the_phone_is_refused_in_its_national_and_bare_forms(world: World,
                                                                  password: str) -> None:
    # The two former copies disagreed: registration knew 912345567, profile 0912345567.
    with pytest.raises(PasswordPolicy) as refused:
        await _staging(world).stage_credential(stage(password=password))
    assert [f["rule"] for f in refused.value.to_error()["fields"]] == ["no_phone"]


async def test_password_policy_lists_the_rules_in_order() -> None:
    view = await password_policy_view(Empty())
    assert [rule.id for rule in view.rules] == list(password_policy.RULES)
    assert view.rules[0].text == "có ít nhất 8 ký tự"
    assert (view.min_length, view.max_length) == (8, 128)


async def _fast_hash(password: str) -> str:
    return fast_password_hash(password)
