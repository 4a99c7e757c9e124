"""Account management (/me) against fakes and a frozen clock: every rule, no servers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.profile.domain.account_management import MAX_PHONES
from services.profile.domain.certificate_login import CertificateProof
from services.profile.domain.errors import (
    AccountLocked,
    Forbidden,
    InvalidCredentials,
    LastAuthMethod,
    NotFound,
    PasswordMismatch,
    PasswordPolicy,
    PhoneLimit,
    ReauthenticationRequired,
    Unauthenticated,
    ValidationFailed,
)
from services.profile.domain.models import (
    Account,
    AuthMethod,
    Identity,
    LoginRecord,
    Phone,
    Session,
)
from services.profile.tests.fakes import (
    FakeMethodFlows,
    FakeOtp,
    FakePki,
    FakeStore,
    FakeUnitOfWork,
    Served,
    fake_profile,
    fast_password_hash,
    sequential_ids,
)
from services.profile.tests.test_devices import COC_COC_ANDROID, SAFARI_IPHONE
from services.profile.tests.test_handlers import POLICY
from shared import crypto
from shared.clock import FrozenClock

PASSWORD = "Matkhau#2026"
NEW_PASSWORD = "Hoa-Sen#2027vn"
ID_NUMBER = "001099012345"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
_HASH = fast_password_hash(PASSWORD)
_tokens = itertools.count(1)


@dataclass
class World:
    accounts: Served
    store: FakeStore
    flows: FakeMethodFlows
    otp: FakeOtp
    pki: FakePki
    clock: FrozenClock
    uow: Callable[[], FakeUnitOfWork]

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e.payload for e in self.store.published if e.type == kind]


def proof(id_number: str = ID_NUMBER, subject_type: str = "citizen",
          fingerprint: str = "ab" * 32) -> CertificateProof:
    return CertificateProof(subject_type=subject_type,
                            identity={"id_type": "CCCD", "id_number": id_number,
                                      "full_name": "Nguyễn Văn An"},
                            fingerprint_sha256=fingerprint, serial="0a1b", issuer="CN=Sandbox CA",
                            not_after="2027-06-30T00:00:00+00:00")


@pytest.fixture
def world() -> World:
    store, clock, otp = FakeStore(), FrozenClock(T0), FakeOtp()
    pki = FakePki(proof())
    profile = fake_profile(store, clock, otp=otp, pki=pki, new_id=sequential_ids("new"))
    return World(Served(profile), store, store.method_flows, otp, pki, clock,
                 lambda: FakeUnitOfWork(store))


def add_account(world: World, account_id: str = "acc-1", *, subject_type: str = "citizen",
                id_number: str = ID_NUMBER, level: int = 2, phones: int = 1,
                tax_code: str | None = None) -> Account:
    account = Account(account_id=account_id, subject_type=subject_type, level=level,
                      identity=Identity(id_number, "Nguyễn Văn An", "1999-01-02", "male",
                                        tax_code=tax_code),
                      registration_id="reg", created_at=T0, email="an@example.vn",
                      password_hash=_HASH)
    account.auth_methods.append(AuthMethod(f"{account_id}-pw", "password", T0))
    for n in range(phones):
        phone = Phone(f"{account_id}-ph{n}", f"+849123450{n:02d}", otp=True, added_at=T0)
        account.phones.append(phone)
        account.auth_methods.append(AuthMethod(f"{account_id}-sms{n}", "sms", T0,
                                               phone_id=phone.phone_id))
    world.store.accounts.rows[account_id] = account
    return account


def open_session(world: World, account_id: str = "acc-1", *, ago: timedelta = timedelta(),
                 ip: str = "10.0.0.1", stepped_up: int | None = 2,
                 user_agent: str = "pytest") -> tuple[str, str]:
    """A live session opened ``ago`` before now: (token, session id); ``stepped_up``: the
    level of a step-up it made just now (None: none)."""
    token = f"token-{next(_tokens)}"
    session_id = f"sess-{token}"
    created = world.clock() - ago
    world.store.sessions.rows[session_id] = Session(
        session_id=session_id, token_hash=crypto.keyed_hash(POLICY.session_secret, token),
        account_id=account_id, level=2, method="password", login_id="login", created_at=created,
        last_seen_at=created, idle_expires_at=world.clock() + timedelta(minutes=30),
        absolute_expires_at=created + timedelta(hours=12), ip=ip, user_agent=user_agent,
        reauthenticated_at=world.clock() if stepped_up else None,
        reauthenticated_level=stepped_up)
    return token, session_id


# --- identity and contacts ----------------------------------------------------------------

async def test_me_is_shaped_per_subject_type(world: World) -> None:
    add_account(world)
    add_account(world, "ent", subject_type="enterprise", id_number="0101234567",
                tax_code="0101234567", level=3)
    add_account(world, "agency", subject_type="agency", id_number="000.00.00.H29")
    world.store.accounts.rows["acc-1"].address = "1 Tràng Tiền, Hà Nội"
    citizen = await world.accounts.me({"session_token": open_session(world)[0]})
    enterprise = await world.accounts.me({"session_token": open_session(world, "ent")[0]})
    agency = await world.accounts.me({"session_token": open_session(world, "agency")[0]})
    expected = {"id_number": ID_NUMBER, "full_name": "Nguyễn Văn An",
                "birth_date": "1999-01-02", "sex": "male"}
    assert citizen["identity"].items() >= expected.items()
    assert citizen["identity"]["addresses"] == [{"type": "contact",
                                                 "address": "1 Tràng Tiền, Hà Nội"}]
    assert citizen["level"] == 2 and citizen["contacts"]["email"] == "an@example.vn"
    assert enterprise["identity"]["tax_code"] == "0101234567"
    assert enterprise["identity"]["name"] == "Nguyễn Văn An"
    assert "representative" in enterprise["identity"] and enterprise["level"] == 3
    assert agency["identity"]["code"] == "000.00.00.H29"


async def test_patch_me_edits_contacts_and_publishes_profile_updated(world: World) -> None:
    add_account(world)
    token, _ = open_session(world)
    view = await world.accounts.me_update({"session_token": token,
                                           "email": " Moi@Example.VN ",
                                           "address": "2 Lý Thái Tổ"})
    assert view["contacts"]["email"] == "Moi@example.vn"
    assert view["contacts"]["address"] == "2 Lý Thái Tổ"
    assert world.events("ProfileUpdated") == [{"account_id": "acc-1",
                                               "fields": ["address", "email"]}]


async def test_patch_me_refuses_bad_email_and_identity_fields(world: World) -> None:
    add_account(world, level=3)
    token, _ = open_session(world)
    with pytest.raises(ValidationFailed) as bad:
        await world.accounts.me_update({"session_token": token, "email": "not-an-email"})
    assert bad.value.fields and bad.value.fields[0]["name"] == "email"
    with pytest.raises(Forbidden) as refused:
        await world.accounts.me_update({"session_token": token, "full_name": "Ai Đó",
                                        "address": "x"})
    assert refused.value.fields == [{"name": "full_name", "detail": "Trường chỉ đọc."}]
    assert "mức độ 3" in refused.value.detail
    with pytest.raises(ValidationFailed):
        await world.accounts.me_update({"session_token": token})
    assert world.events("ProfileUpdated") == []


async def test_email_change_needs_a_step_up_address_does_not(world: World) -> None:
    add_account(world)
    token, _ = open_session(world, stepped_up=None)
    await world.accounts.me_update({"session_token": token, "address": "3 Hàng Bài"})
    with pytest.raises(ReauthenticationRequired):
        await world.accounts.me_update({"session_token": token, "email": "b@example.vn"})


# --- history and sessions -----------------------------------------------------------------

async def test_login_history_is_paged_newest_first(world: World) -> None:
    add_account(world)
    token, _ = open_session(world)
    for n in range(5):
        world.store.history.rows.append(LoginRecord(
            f"r{n}", "acc-1", f"l{n}", T0 - timedelta(minutes=5 - n), "password",
            "success" if n % 2 else "failure", ip="10.1.1.1", user_agent=COC_COC_ANDROID))
    world.store.history.rows.append(LoginRecord("other", "acc-2", "x", T0, "password",
                                                "success"))
    first = await world.accounts.me_logins({"session_token": token, "limit": 3})
    assert [i["result"] for i in first["items"]] == ["failure", "success", "failure"]
    assert first["items"][0]["at"] > first["items"][1]["at"]
    # The string as it came, and the device in words next to it (issue 14).
    assert first["items"][0]["user_agent"] == COC_COC_ANDROID
    assert first["items"][0]["device"] == "Cốc Cốc trên Android"
    second = await world.accounts.me_logins({"session_token": token, "limit": 3,
                                             "before": first["next_before"]})
    assert len(second["items"]) == 2 and "next_before" not in second


async def test_sessions_listed_current_marked_and_ended(world: World) -> None:
    add_account(world)
    add_account(world, "acc-2", id_number="001099099999")
    token, current = open_session(world)
    other_token, other = open_session(world, ago=timedelta(minutes=3), ip="10.9.9.9",
                                      user_agent=SAFARI_IPHONE)
    _, foreign = open_session(world, "acc-2")
    listed = (await world.accounts.me_sessions({"session_token": token}))["items"]
    assert [(s["id"], s["current"]) for s in listed] == [(current, True), (other, False)]
    assert listed[1]["ip"] == "10.9.9.9" and listed[1]["level"] == 2
    assert [s["device"] for s in listed] == ["Thiết bị không xác định", "Safari trên iPhone"]
    with pytest.raises(NotFound):
        await world.accounts.me_end_session({"session_token": token, "session_id": foreign})
    await world.accounts.me_end_session({"session_token": token, "session_id": other})
    with pytest.raises(Unauthenticated):  # at once
        await world.accounts.me({"session_token": other_token})
    assert world.events("SessionRevoked") == [{"account_id": "acc-1", "session_id": other,
                                               "reason": "ended_by_owner"}]
    with pytest.raises(NotFound):  # already ended
        await world.accounts.me_end_session({"session_token": token, "session_id": other})


# --- password -------------------------------------------------------------------------------

def change(token: str, **extra: Any) -> dict[str, Any]:
    return {"session_token": token, "current_password": PASSWORD, "new_password": NEW_PASSWORD,
            "new_password_confirmation": NEW_PASSWORD} | extra


async def test_a_step_up_is_valid_five_minutes_and_a_login_is_none(world: World) -> None:
    add_account(world)
    token, _ = open_session(world)
    world.clock.advance(minutes=5, seconds=1)
    with pytest.raises(ReauthenticationRequired) as refused:
        await world.accounts.me_change_password(change(token))
    assert refused.value.to_error()["code"] == "reauthentication_required"
    just_logged_in, _ = open_session(world, stepped_up=None)
    with pytest.raises(ReauthenticationRequired):
        await world.accounts.me_change_password(change(just_logged_in))
    fresh, _ = open_session(world)
    world.clock.advance(minutes=4, seconds=59)
    await world.accounts.me_change_password(change(fresh))


async def test_change_password_rules_and_events(world: World) -> None:
    add_account(world)
    token, _ = open_session(world)
    other_token, other = open_session(world)
    with pytest.raises(InvalidCredentials):
        await world.accounts.me_change_password(change(token, current_password="Sai#12345"))
    with pytest.raises(PasswordPolicy) as weak:
        await world.accounts.me_change_password(change(
            token, new_password="short", new_password_confirmation="short"))
    assert weak.value.fields and weak.value.fields[0]["name"] == "new_password"
    with pytest.raises(PasswordMismatch):
        await world.accounts.me_change_password(change(token, new_password_confirmation="x"))
    await world.accounts.me_change_password(change(token, end_other_sessions=True))
    account = world.store.accounts.rows["acc-1"]
    assert await crypto.verify_password(account.password_hash, NEW_PASSWORD)
    assert world.events("PasswordChanged") == [{"account_id": "acc-1", "reason": "change"}]
    assert [e["session_id"] for e in world.events("SessionRevoked")] == [other]
    await world.accounts.me({"session_token": token})  # the current one goes on
    with pytest.raises(Unauthenticated):
        await world.accounts.me({"session_token": other_token})


async def test_guesses_of_the_current_password_spend_the_accounts_budget(world: World) -> None:
    add_account(world)
    token, _ = open_session(world)
    for _ in range(9):
        with pytest.raises(InvalidCredentials):
            await world.accounts.me_change_password(change(token, current_password="Sai#12345"))
    with pytest.raises(AccountLocked):  # the tenth, as at the login
        await world.accounts.me_change_password(change(token, current_password="Sai#12345"))
    with pytest.raises(AccountLocked):  # even the right one, now
        await world.accounts.me_change_password(change(token))
    # The lock is the login's: the password login of the account is locked too.
    with pytest.raises(AccountLocked):
        await world.accounts.login_start({"method": "password", "username": ID_NUMBER,
                                                   "password": PASSWORD, "ip": "10.9.9.9"})


# --- methods ----------------------------------------------------------------------------------

async def test_auth_methods_are_listed_with_labels(world: World) -> None:
    account = add_account(world)
    account.auth_methods.append(AuthMethod("usb-1", "usb", T0, details={
        "fingerprint_sha256": "cd" * 32, "serial": "0a", "issuer": "CN=CA",
        "not_after": "2027-06-30T00:00:00+00:00"}))
    world.store.history.rows.append(LoginRecord("r", "acc-1", "l", T0, "password", "success"))
    token, _ = open_session(world)
    items = (await world.accounts.me_auth_methods({"session_token": token}))["items"]
    labels = {m["type"]: m for m in items}
    assert labels["password"]["label"] == "Mật khẩu"
    assert labels["sms"]["label"] == "SMS +8491****000"
    assert labels["sms"]["last_used_at"] == T0.isoformat()
    assert labels["usb"]["label"] == "USB ký số: Nguyễn Văn An, hết hạn 30/06/2027"
    assert labels["usb"]["last_used_at"] is None


async def test_add_sms_phone_with_otp(world: World) -> None:
    add_account(world)
    token, _ = open_session(world)
    flow = await world.accounts.me_add_method({"session_token": token, "type": "sms",
                                               "phone": "0987654321"})
    assert flow["status"] == "otp_sent" and flow["phone_masked"] == "+8498****321"
    assert world.otp.issued[-1] == {"flow_id": flow["id"], "purpose": "add_method",
                                    "phone": "+84987654321"}
    ref = {"session_token": token, "id": flow["id"], "flow_token": flow["flow_token"]}
    method = await world.accounts.me_method_otp(ref | {"code": "123456"})
    assert method["type"] == "sms" and method["phone_masked"] == "+8498****321"
    assert len(world.store.accounts.rows["acc-1"].phones) == 2
    assert world.events("AuthMethodAdded") == [{"account_id": "acc-1",
                                                "method_id": method["id"], "type": "sms"}]
    view = await world.accounts.me_method_get(ref)
    assert view["status"] == "completed" and view["method"]["id"] == method["id"]


async def test_add_sms_refuses_a_sixth_phone_a_duplicate_and_foreign_flows(world: World) -> None:
    add_account(world, phones=MAX_PHONES)
    add_account(world, "acc-2", id_number="001099099999")
    token, _ = open_session(world)
    with pytest.raises(PhoneLimit):
        await world.accounts.me_add_method({"session_token": token, "type": "sms",
                                            "phone": "0987654321"})
    with pytest.raises(ValidationFailed):
        await world.accounts.me_add_method({"session_token": token, "type": "sms",
                                            "phone": "+84912345000"})
    other_token, _ = open_session(world, "acc-2")
    flow = await world.accounts.me_add_method({"session_token": other_token, "type": "sms",
                                               "phone": "0987654321"})
    with pytest.raises(NotFound):
        await world.accounts.me_method_otp({"session_token": token, "id": flow["id"],
                                            "flow_token": flow["flow_token"], "code": "123456"})


async def test_remove_method_never_the_last_way_in(world: World) -> None:
    add_account(world, phones=2)
    add_account(world, "acc-2", id_number="001099099999")
    token, _ = open_session(world)
    with pytest.raises(NotFound):
        await world.accounts.me_remove_method({"session_token": token,
                                               "method_id": "acc-2-sms0"})
    with pytest.raises(Forbidden):
        await world.accounts.me_remove_method({"session_token": token, "method_id": "acc-1-pw"})
    await world.accounts.me_remove_method({"session_token": token, "method_id": "acc-1-sms0"})
    assert [p.phone_id for p in world.store.accounts.rows["acc-1"].phones] == ["acc-1-ph1"]
    with pytest.raises(LastAuthMethod):
        await world.accounts.me_remove_method({"session_token": token,
                                               "method_id": "acc-1-sms1"})
    assert world.events("AuthMethodRemoved") == [{"account_id": "acc-1",
                                                  "method_id": "acc-1-sms0", "type": "sms"}]
    world.clock.advance(minutes=6)
    # A removal the rules refuse is said so first, without asking for a step-up.
    with pytest.raises(LastAuthMethod):
        await world.accounts.me_remove_method({"session_token": token,
                                               "method_id": "acc-1-sms1"})


async def test_add_usb_token_of_the_owner_raises_the_level(world: World) -> None:
    add_account(world)
    token, _ = open_session(world)
    flow = await world.accounts.me_add_method({"session_token": token, "type": "usb"})
    assert flow["status"] == "awaiting_signature" and flow["challenge"]
    method = await world.accounts.me_method_signature({
        "session_token": token, "id": flow["id"], "flow_token": flow["flow_token"],
        "certificate": "PEM", "signature": "c2ln"})
    assert method["type"] == "usb" and method["certificate"]["serial"] == "0a1b"
    account = world.store.accounts.rows["acc-1"]
    assert account.level == 3
    # The SMS phone can go now: the token is a way in.
    await world.accounts.me_remove_method({"session_token": token, "method_id": "acc-1-sms0"})


async def test_certificate_of_someone_else_is_forbidden(world: World) -> None:
    add_account(world)
    world.pki.proof = proof(id_number="001099099999")
    token, _ = open_session(world)
    flow = await world.accounts.me_add_method({"session_token": token, "type": "sim",
                                               "phone": "0987654321"})
    assert flow["verification_code"] == "1234"
    ref = {"session_token": token, "id": flow["id"], "flow_token": flow["flow_token"]}
    assert (await world.accounts.me_method_get(ref))["status"] == "awaiting_signature"
    world.pki.approved = True
    view = await world.accounts.me_method_get(ref)
    assert view == view | {"status": "failed", "code": "forbidden"}
    assert world.store.accounts.rows["acc-1"].level == 2
    assert world.events("AuthMethodAdded") == []


@pytest.mark.parametrize(("account_kind", "certificate"), [
    # A passport with the digits of the holder's CCCD: another person.
    ("citizen", CertificateProof(subject_type="citizen",
                                 identity={"id_type": "HC", "id_number": ID_NUMBER,
                                           "full_name": "Phạm Thị Dung"},
                                 fingerprint_sha256="cd" * 32, serial="0c", issuer="CN=CA",
                                 not_after=None)),
    # An employee's certificate naming the company: a citizen's, never the enterprise's.
    ("enterprise", CertificateProof(subject_type="citizen",
                                    identity={"id_type": "CCCD", "id_number": "001090001234",
                                              "full_name": "Đỗ Văn Em"},
                                    fingerprint_sha256="cd" * 32, serial="0c",
                                    issuer="CN=CA", not_after=None)),
])
async def test_a_certificate_naming_another_typed_identity_is_forbidden(
        world: World, account_kind: str, certificate: CertificateProof) -> None:
    if account_kind == "enterprise":
        add_account(world, subject_type="enterprise", id_number="0101234567",
                    tax_code="0101234567")
    else:
        add_account(world)
    world.pki.proof = certificate
    token, _ = open_session(world)
    flow = await world.accounts.me_add_method({"session_token": token, "type": "usb"})
    with pytest.raises(Forbidden):
        await world.accounts.me_method_signature({
            "session_token": token, "id": flow["id"], "flow_token": flow["flow_token"],
            "certificate": "PEM", "signature": "c2ln"})
    assert world.events("AuthMethodAdded") == []
