"""The use cases with fakes of every port: each rule and each error code of the flow."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest

from services.registration.domain.errors import (
    AccountExists,
    ExternalUnavailable,
    FlowExpired,
    FlowNotFound,
    FlowState,
    InvalidIdNumber,
    InvalidPhone,
    OtpRejected,
    PasswordMismatch,
    PasswordPolicyViolation,
    RegistrationError,
    RegistrationRateLimited,
    SubscriberMismatch,
    ValidationFailed,
)
from services.registration.domain.flow import Status
from services.registration.domain.methods import choose_method
from services.registration.domain.model import IdentityRecord
from services.registration.handlers import ACCOUNT_CREATED_CONSUMER
from services.registration.methods.phone_otp import AFTER_COMPLETE_FAILPOINT
from services.registration.tests.fakes import FLOW_SECRET, World, make_world, named_fields
from shared import crypto
from shared.contracts.base import ContractViolation
from shared.events import AccountCreated, OtpVerified, new_event

ID_NUMBER = "001090012345"  # Hà Nội, male born in the 1900s, year 90
KEY = f"CCCD:{ID_NUMBER}"  # its typed identity key (domain/identity_keys)
PHONE = "+84912345678"
NAME = "Nguyễn Văn An"
BIRTH = "1990-05-17"
GOOD_PASSWORD = "Tr@ng-Sen-2026!"


def application(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "subject_type": "citizen", "method": "mobile", "id_number": ID_NUMBER,
        "full_name": NAME, "birth_date": BIRTH, "sex": "male", "phone": "0912 345 678",
        "email": "An.Nguyen@Example.VN",
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not ...}


@pytest.fixture
def world() -> World:
    w = make_world()
    w.telco.add(PHONE, ID_NUMBER, NAME, BIRTH)
    return w


async def started(world: World, **changes: Any) -> dict[str, Any]:
    return await world.handlers.start(application(**changes))


async def at_password_step(world: World) -> dict[str, Any]:
    flow = await started(world)
    await world.handlers.submit_otp({**_auth(flow), "code": world.otp.valid_code})
    return flow


def _auth(flow: dict[str, Any]) -> dict[str, str]:
    return {"id": flow["id"], "flow_token": flow["flow_token"]}


# --- start ---------------------------------------------------------------------------------

async def test_start_stores_the_flow_and_asks_the_otp_service_through_an_event(world: World) -> None:
    flow = await started(world)

    assert flow["status"] == "otp_sent"
    assert flow["phone_masked"] == "+8491****678"
    assert flow["expires_at"] == "2026-01-01T00:30:00Z"
    assert flow["resend_available_at"] == "2026-01-01T00:01:00Z"
    stored = world.store.registrations[flow["id"]]
    assert stored.status == Status.OTP_SENT
    assert stored.phone == PHONE
    assert stored.email == "An.Nguyen@example.vn"
    assert stored.flow_token_hash == crypto.keyed_hash(FLOW_SECRET, flow["flow_token"])
    [requested] = world.store.events_of("RegistrationRequested")
    assert requested.payload == {"registration_id": flow["id"], "method": "mobile",
                                 "subject_type": "citizen", "phone": PHONE,
                                 "purpose": "registration"}
    assert requested.correlation_id == flow["id"]


async def test_the_flow_token_is_never_stored_nor_published(world: World) -> None:
    flow = await started(world)
    stored = repr(world.store.registrations) + json.dumps(
        [e.model_dump(mode="json") for e in world.store.events])
    assert flow["flow_token"] not in stored
    assert len(flow["flow_token"]) >= 43  # 256 bits, URL-safe base64


async def test_start_normalises_name_spacing_and_composition(world: World) -> None:
    decomposed = unicodedata.normalize("NFD", "  nguyễn   văn  an ")
    world.telco.add(PHONE, ID_NUMBER, "NGUYỄN VĂN AN", BIRTH)
    flow = await started(world, full_name=decomposed)
    assert world.store.registrations[flow["id"]].declared_identity().full_name == "nguyễn văn an"


async def test_start_refuses_a_known_id_number_once_the_carrier_backs_the_person(
        world: World) -> None:
    world.store.identities[KEY] = IdentityRecord(KEY, "acc-1", "citizen", world.clock())
    with pytest.raises(AccountExists) as err:
        await started(world)
    assert "Quên mật khẩu" in err.value.detail and "khiếu nại" in err.value.detail
    assert world.telco.lookups == [PHONE]
    assert world.store.registrations == {}


async def test_a_stranger_with_a_known_id_number_is_not_told_the_account_exists(
        world: World) -> None:
    # Before the carrier's match, "account exists" would answer anyone who knows a CCCD.
    world.store.identities[KEY] = IdentityRecord(KEY, "acc-1", "citizen", world.clock())
    with pytest.raises(SubscriberMismatch):
        await started(world, full_name="Lê Văn Cường", phone="0987000111")
    with pytest.raises(SubscriberMismatch):
        await started(world, birth_date="1990-01-02")


async def test_starts_per_id_number_and_per_phone_are_braked(world: World) -> None:
    for _ in range(5):
        with pytest.raises(SubscriberMismatch):
            await started(world, birth_date="1990-01-02")
    with pytest.raises(RegistrationRateLimited) as err:
        await started(world)  # even the right data: the ID number's hour is spent
    assert err.value.retry_after == 3600 and "60 phút" in err.value.detail
    assert len(world.telco.lookups) == 5
    world.clock.advance(minutes=30)
    with pytest.raises(RegistrationRateLimited) as err:
        await started(world)
    assert err.value.retry_after == 1800

    other = make_world()  # one phone, ten different people: the phone's budget
    for serial in range(10):
        with pytest.raises(SubscriberMismatch):
            await other.handlers.start(application(id_number=f"0010900100{serial:02d}"))
    with pytest.raises(RegistrationRateLimited):
        await other.handlers.start(application(id_number="001090010099"))
    assert len(other.telco.lookups) == 10


@pytest.mark.parametrize("record", [
    None,  # the carrier does not know the number (404)
    {"id_number": "001090099999"},
    {"birth_date": "1990-05-18"},
    {"full_name": "Nguyen Van An"},  # diacritics are part of the name
    {"full_name": "Nguyễn Văn Ân"},
    {"status": "suspended"},
])
async def test_start_requires_the_phone_to_be_registered_to_this_person(
        world: World, record: dict[str, str] | None) -> None:
    world.telco.records.clear()
    if record is not None:
        fields = {"id_number": ID_NUMBER, "full_name": NAME, "birth_date": BIRTH, **record}
        world.telco.add(PHONE, **fields)
    with pytest.raises(SubscriberMismatch) as err:
        await started(world)
    assert err.value.code == "subscriber_mismatch"
    assert "nhà mạng" in err.value.detail
    assert world.store.registrations == {} and world.store.events == []


async def test_start_tells_when_the_registry_cannot_answer(world: World) -> None:
    world.telco.unavailable = True
    with pytest.raises(ExternalUnavailable) as err:
        await started(world)
    assert err.value.to_error()["code"] == "external_unavailable"
    assert world.store.registrations == {}


@pytest.mark.parametrize("method", ["sim", "usb"])
def test_the_signature_methods_are_available(method: str) -> None:
    # Served by methods/usb.py and methods/sim.py (test_signature_handlers.py).
    assert choose_method(method) == method


@pytest.mark.parametrize("method", [..., "", "fax", 3])
async def test_an_unknown_or_missing_method_is_a_validation_error(world: World, method: Any) -> None:
    # Refused by the start's contract (its variants are the methods served) before any
    # registry is asked.
    with pytest.raises(ContractViolation) as err:
        await started(world, method=method)
    assert err.value.to_error()["code"] == "validation_error"
    assert "method" in named_fields(err.value)
    assert world.telco.lookups == [] and world.store.registrations == {}
    with pytest.raises(ValidationFailed) as refused:
        choose_method(method if method is not ... else None)
    assert refused.value.to_error()["fields"][0]["name"] == "method"


async def test_mobile_registration_is_for_citizens_only(world: World) -> None:
    with pytest.raises(ValidationFailed) as err:
        await started(world, subject_type="enterprise")
    [field] = err.value.to_error()["fields"]
    assert field == {"name": "subject_type",
                     "detail": "Đăng ký bằng thuê bao di động chỉ dành cho Công dân."}


async def test_every_missing_or_wrong_typed_field_is_named_at_once(world: World) -> None:
    # Wrong types and bounds: the contract names them all at once.
    payload = {"subject_type": "citizen", "method": "mobile", "id_number": 1234,
               "full_name": "", "birth_date": None, "sex": "m", "email": ["x"]}
    with pytest.raises(ContractViolation) as misfit:
        await world.handlers.start(payload)
    assert misfit.value.to_error()["code"] == "validation_error"
    assert named_fields(misfit.value) == {"id_number", "full_name", "sex", "email"}
    # Missing (a form's blank field is absent): the service names them all, in its words.
    with pytest.raises(ValidationFailed) as err:
        await world.handlers.start({"subject_type": "citizen", "method": "mobile",
                                    "id_number": " ", "email": "x@"})
    error = err.value.to_error()
    assert error["code"] == "validation_error"
    assert {f["name"] for f in error["fields"]} == {
        "id_number", "full_name", "birth_date", "sex", "phone", "email"}
    assert all(f["detail"] for f in error["fields"])


async def test_a_cccd_that_contradicts_the_birth_date_is_refused(world: World) -> None:
    with pytest.raises(InvalidIdNumber) as err:
        await started(world, birth_date="1991-05-17")
    assert err.value.to_error()["fields"][0]["name"] == "id_number"


async def test_a_landline_is_refused(world: World) -> None:
    with pytest.raises(InvalidPhone):
        await started(world, phone="024 3812 3456")


# --- get -----------------------------------------------------------------------------------

async def test_get_shows_the_flow_to_the_token_holder(world: World) -> None:
    flow = await started(world)
    view = await world.handlers.get(_auth(flow))
    assert view == {
        "id": flow["id"], "status": "otp_sent", "method": "mobile", "subject_type": "citizen",
        "identity": {"id_number": ID_NUMBER, "full_name": NAME, "birth_date": BIRTH,
                     "sex": "male"},
        "phone_masked": "+8491****678", "expires_at": "2026-01-01T00:30:00Z",
    }


@pytest.mark.parametrize("credentials", [{"flow_token": "wrong"}, {"id": "no-such-flow"}])
async def test_a_wrong_token_and_an_unknown_flow_look_the_same(
        world: World, credentials: dict[str, Any]) -> None:
    flow = await started(world)
    with pytest.raises(FlowNotFound) as err:
        await world.handlers.get({**_auth(flow), **credentials})
    assert err.value.to_error() == {"code": "not_found", "detail": "Không tìm thấy phiên đăng ký."}


@pytest.mark.parametrize("credentials", [{"flow_token": ""}, {"flow_token": None}, {"id": 7}])
async def test_no_token_or_no_id_at_all_says_nothing_of_the_flow(
        world: World, credentials: dict[str, Any]) -> None:
    # Refused by the contract before any flow is looked up: the same answer for a flow that
    # exists and one that does not (the gateway answers not_found for it).
    flow = await started(world)
    answers = []
    for flow_id in (flow["id"], "no-such-flow"):
        with pytest.raises(ContractViolation) as err:
            await world.handlers.get({**_auth(flow), "id": flow_id, **credentials})
        answers.append(err.value.to_error())
    assert answers[0] == answers[1] and answers[0]["code"] == "validation_error"


async def test_an_expired_flow_says_so(world: World) -> None:
    flow = await started(world)
    world.clock.advance(minutes=30)
    with pytest.raises(FlowExpired):
        await world.handlers.submit_otp({**_auth(flow), "code": world.otp.valid_code})
    with pytest.raises(FlowExpired):
        await world.handlers.resend_otp(_auth(flow))
    with pytest.raises(FlowExpired):
        await world.handlers.get(_auth(flow))


# --- submit_otp ----------------------------------------------------------------------------

async def test_a_right_code_moves_the_flow_to_the_password_step(world: World) -> None:
    flow = await started(world)
    answer = await world.handlers.submit_otp({**_auth(flow), "code": world.otp.valid_code})
    assert answer == {"status": "awaiting_password"}
    assert world.otp.verified == [(flow["id"], "registration", world.otp.valid_code)]
    assert world.store.registrations[flow["id"]].status == Status.AWAITING_PASSWORD


async def test_otp_errors_pass_through_with_code_detail_and_retry_after(world: World) -> None:
    flow = await started(world)
    with pytest.raises(OtpRejected) as err:
        await world.handlers.submit_otp({**_auth(flow), "code": "000000"})
    assert err.value.to_error() == {"code": "otp_invalid",
                                    "detail": "Mã OTP không đúng. Bạn còn 4 lần thử."}
    world.otp.next_error = OtpRejected("otp_attempts_exceeded", "Bạn đã nhập sai quá 5 lần.",
                                       retry_after=240)
    with pytest.raises(OtpRejected) as err:
        await world.handlers.submit_otp({**_auth(flow), "code": "000000"})
    assert err.value.to_error()["retry_after"] == 240
    assert world.store.registrations[flow["id"]].status == Status.OTP_SENT


async def test_a_missing_code_is_a_validation_error(world: World) -> None:
    flow = await started(world)
    with pytest.raises(ContractViolation) as misfit:
        await world.handlers.submit_otp(_auth(flow))
    assert named_fields(misfit.value) == {"code"}
    with pytest.raises(ValidationFailed) as err:
        await world.handlers.submit_otp({**_auth(flow), "code": "  "})
    assert err.value.to_error()["fields"][0]["name"] == "code"
    assert world.otp.verified == []


async def test_a_retried_otp_step_answers_the_flow_state(world: World) -> None:
    # Its answer was lost (issue 12): the retry is told where the flow is, and the otp
    # service is not asked again (no attempt burned on a code already used).
    flow = await at_password_step(world)
    answer = await world.handlers.submit_otp({**_auth(flow), "code": world.otp.valid_code})
    assert answer == {"status": "awaiting_password"}
    assert len(world.otp.verified) == 1


async def test_a_retried_otp_step_after_completion_answers_completed(world: World) -> None:
    flow = await at_password_step(world)
    await world.handlers.set_password(
        {**_auth(flow), "password": GOOD_PASSWORD, "password_confirmation": GOOD_PASSWORD})
    answer = await world.handlers.submit_otp({**_auth(flow), "code": "000000"})
    assert answer == {"status": "completed"}
    assert len(world.otp.verified) == 1


async def test_a_code_used_while_the_flow_lagged_answers_the_flow_state(world: World) -> None:
    # The code was used by the first try, whose own write was lost; meanwhile the
    # OtpVerified consumer moved the flow: the retry's "code already used" is success.
    flow = await started(world)
    await world.otp_events.on_otp_verified(_otp_verified(flow["id"]))
    world.store.registrations[flow["id"]].status = Status.OTP_SENT  # as read by the retry

    async def consumer_catches_up() -> None:
        world.store.registrations[flow["id"]].status = Status.AWAITING_PASSWORD

    world.otp.next_error = OtpRejected("otp_expired", "Mã OTP đã được sử dụng.")
    world.otp.before_error = consumer_catches_up
    answer = await world.handlers.submit_otp({**_auth(flow), "code": world.otp.valid_code})
    assert answer == {"status": "awaiting_password"}


async def test_an_expired_code_on_a_flow_still_waiting_is_refused(world: World) -> None:
    flow = await started(world)
    world.otp.next_error = OtpRejected("otp_expired", "Mã OTP đã hết hạn.")
    with pytest.raises(OtpRejected):
        await world.handlers.submit_otp({**_auth(flow), "code": world.otp.valid_code})


async def test_a_silent_otp_service_is_external_unavailable(world: World) -> None:
    flow = await started(world)
    world.otp.next_error = ExternalUnavailable()
    with pytest.raises(ExternalUnavailable):
        await world.handlers.submit_otp({**_auth(flow), "code": world.otp.valid_code})


async def test_the_otp_verified_consumer_getting_there_first_is_still_success(world: World) -> None:
    flow = await started(world)

    async def consumer_first() -> None:
        await world.otp_events.on_otp_verified(_otp_verified(flow["id"]))

    world.otp.after_verify = consumer_first
    answer = await world.handlers.submit_otp({**_auth(flow), "code": world.otp.valid_code})
    assert answer == {"status": "awaiting_password"}


async def test_the_otp_verified_consumer_conflicting_with_the_step_is_still_success(
        world: World) -> None:
    # Both move otp_sent → awaiting_password at the same instant: the step's write meets the
    # consumer's (a write conflict) and answers the flow's state, never a 500 (issue 12).
    flow = await started(world)

    async def consumer_at_the_same_time() -> None:
        await world.otp_events.on_otp_verified(_otp_verified(flow["id"]))
        world.store.conflicts = 1

    world.otp.after_verify = consumer_at_the_same_time
    answer = await world.handlers.submit_otp({**_auth(flow), "code": world.otp.valid_code})
    assert answer == {"status": "awaiting_password"}


# --- resend_otp ----------------------------------------------------------------------------

async def test_resend_asks_the_otp_service_for_a_new_code(world: World) -> None:
    flow = await started(world)
    world.clock.advance(seconds=61)
    answer = await world.handlers.resend_otp(_auth(flow))
    assert answer == {"status": "otp_sent", "resend_available_at": "2026-01-01T00:02:01Z"}
    assert world.otp.issued == [(flow["id"], "registration", PHONE)]


@pytest.mark.parametrize("code", ["otp_resend_too_soon", "otp_send_limit"])
async def test_resend_limits_pass_through(world: World, code: str) -> None:
    flow = await started(world)
    world.otp.next_error = OtpRejected(code, "Vui lòng chờ.", retry_after=42)
    with pytest.raises(OtpRejected) as err:
        await world.handlers.resend_otp(_auth(flow))
    assert err.value.to_error() == {"code": code, "detail": "Vui lòng chờ.", "retry_after": 42}


async def test_resend_after_the_otp_step_is_flow_state(world: World) -> None:
    flow = await at_password_step(world)
    with pytest.raises(FlowState):
        await world.handlers.resend_otp(_auth(flow))


# --- set_password --------------------------------------------------------------------------

async def test_a_good_password_creates_the_account_in_one_unit(world: World) -> None:
    flow = await at_password_step(world)
    commits_before = world.store.commits
    answer = await world.handlers.set_password(
        {**_auth(flow), "password": GOOD_PASSWORD, "password_confirmation": GOOD_PASSWORD})

    assert answer["status"] == "completed" and answer["level"] == 2
    account_id = answer["account_id"]
    assert world.store.commits == commits_before + 1
    stored = world.store.registrations[flow["id"]]
    assert (stored.status, stored.account_id, stored.level) == (Status.COMPLETED, account_id, 2)
    assert world.store.identities[KEY].account_id == account_id
    [created] = world.store.events_of("AccountCreated")
    payload = created.parse(AccountCreated)
    assert payload.account_id == account_id and payload.method == "mobile"
    assert payload.level == 2 and payload.phone == PHONE
    assert payload.email == "An.Nguyen@example.vn"
    assert payload.identity.id_number == ID_NUMBER and payload.identity.sex == "male"
    # The password went to profile by request/reply; the event names only that credential.
    assert payload.credential_id is not None
    assert world.credentials.staged[payload.credential_id] == (flow["id"], GOOD_PASSWORD)
    assert not [name for name, value in created.payload.items()
                if isinstance(value, str) and ("password" in name or "hash" in name)]
    [completed] = world.store.events_of("RegistrationCompleted")
    assert completed.payload["account_id"] == account_id
    assert completed.causation_id == created.id
    assert GOOD_PASSWORD not in json.dumps([e.model_dump(mode="json") for e in world.store.events])
    assert world.failpoints.hits == [AFTER_COMPLETE_FAILPOINT]


# profile owns the password rule and checks the confirmation (issue 16): its refusals, as
# its adapter turns them into this service's errors (test_profile_adapter.py), pass through.
POLICY_REFUSAL = PasswordPolicyViolation(
    "Mật khẩu chưa đạt yêu cầu. Mật khẩu cần: có ít nhất một chữ cái in hoa (A–Z).",
    [{"name": "password", "rule": "uppercase",
      "detail": "Mật khẩu cần có ít nhất một chữ cái in hoa (A–Z)."}])


async def test_the_password_goes_to_profile_with_what_its_rule_needs(world: World) -> None:
    flow = await at_password_step(world)
    await world.handlers.set_password(
        {**_auth(flow), "password": GOOD_PASSWORD, "password_confirmation": GOOD_PASSWORD + "x"})
    # The phone as the flow holds it (E.164): profile matches it in every form people type.
    assert world.credentials.contexts == [{
        "registration_id": flow["id"], "confirmation": GOOD_PASSWORD + "x",
        "id_number": ID_NUMBER, "phone": PHONE}]


async def test_a_password_profile_refuses_completes_nothing(world: World) -> None:
    flow = await at_password_step(world)
    world.credentials.error = POLICY_REFUSAL
    weak = "x912345678"
    with pytest.raises(PasswordPolicyViolation) as err:
        await world.handlers.set_password(
            {**_auth(flow), "password": weak, "password_confirmation": weak})
    assert err.value.to_error() == POLICY_REFUSAL.to_error()
    assert err.value.rules == ["uppercase"]
    assert world.store.registrations[flow["id"]].status == Status.AWAITING_PASSWORD
    assert world.store.events_of("AccountCreated") == []


async def test_the_confirmation_must_match(world: World) -> None:
    flow = await at_password_step(world)
    world.credentials.error = PasswordMismatch()
    with pytest.raises(PasswordMismatch) as err:
        await world.handlers.set_password(
            {**_auth(flow), "password": GOOD_PASSWORD, "password_confirmation": GOOD_PASSWORD + "x"})
    assert err.value.to_error()["fields"][0]["name"] == "password_confirmation"
    assert world.store.registrations[flow["id"]].status == Status.AWAITING_PASSWORD


async def test_missing_password_fields_are_a_validation_error(world: World) -> None:
    flow = await at_password_step(world)
    with pytest.raises(ContractViolation) as misfit:
        await world.handlers.set_password({**_auth(flow), "password": 12345678})
    assert named_fields(misfit.value) == {"password"}
    with pytest.raises(ValidationFailed) as err:
        await world.handlers.set_password(_auth(flow))
    assert {f["name"] for f in err.value.to_error()["fields"]} == {
        "password", "password_confirmation"}
    assert world.credentials.contexts == []


async def test_a_password_before_the_otp_is_flow_state(world: World) -> None:
    flow = await started(world)
    with pytest.raises(FlowState):
        await world.handlers.set_password(
            {**_auth(flow), "password": GOOD_PASSWORD, "password_confirmation": GOOD_PASSWORD})


async def test_a_retried_password_on_a_completed_flow_answers_the_same_account(
        world: World) -> None:
    # Its answer was lost (issue 12): the retry gets the same answer, and nothing is created
    # or staged again.
    flow = await at_password_step(world)
    body = {**_auth(flow), "password": GOOD_PASSWORD, "password_confirmation": GOOD_PASSWORD}
    first = await world.handlers.set_password(body)
    world.clock.advance(hours=1)  # completed flows stay completed, not expired
    again = await world.handlers.set_password(body)
    assert again == first and first["status"] == "completed"
    assert len(world.store.events_of("AccountCreated")) == 1
    assert len(world.credentials.staged) == 1
    view = await world.handlers.get(_auth(flow))
    assert view["status"] == "completed" and view["level"] == 2


async def test_a_password_on_an_expired_flow_is_flow_expired(world: World) -> None:
    flow = await at_password_step(world)
    world.clock.advance(minutes=31)
    with pytest.raises(FlowExpired):
        await world.handlers.set_password(
            {**_auth(flow), "password": GOOD_PASSWORD, "password_confirmation": GOOD_PASSWORD})


async def test_an_account_made_meanwhile_fails_the_registration(world: World) -> None:
    flow = await at_password_step(world)
    # Another registration of the same person completed while this one waited.
    world.store.identities[KEY] = IdentityRecord(KEY, "acc-other", "citizen", world.clock())
    with pytest.raises(AccountExists):
        await world.handlers.set_password(
            {**_auth(flow), "password": GOOD_PASSWORD, "password_confirmation": GOOD_PASSWORD})
    stored = world.store.registrations[flow["id"]]
    assert (stored.status, stored.code, stored.account_id) == (Status.FAILED, "account_exists", None)
    [failed] = world.store.events_of("RegistrationFailed")
    assert failed.payload["code"] == "account_exists"
    assert world.store.events_of("AccountCreated") == []
    view = await world.handlers.get(_auth(flow))
    assert view["status"] == "failed" and view["code"] == "account_exists"
    assert world.failpoints.hits == []


# --- consumed events -----------------------------------------------------------------------

def _otp_verified(flow_id: str, purpose: str = "registration", phone: str = PHONE) -> Any:
    return new_event(OtpVerified(flow_id=flow_id, purpose=purpose,  # type: ignore[arg-type]
                                 phone=phone, challenge_id="c-1"), correlation_id=flow_id)


async def test_otp_verified_moves_the_flow_once(world: World) -> None:
    flow = await started(world)
    event = _otp_verified(flow["id"])
    await world.otp_events.on_otp_verified(event)
    await world.otp_events.on_otp_verified(event)
    assert world.store.registrations[flow["id"]].status == Status.AWAITING_PASSWORD
    assert len(world.store.processed) == 1


@pytest.mark.parametrize("event_changes", [{"purpose": "login"}, {"phone": "+84987654321"}])
async def test_otp_verified_for_another_purpose_or_phone_changes_nothing(
        world: World, event_changes: dict[str, str]) -> None:
    flow = await started(world)
    await world.otp_events.on_otp_verified(_otp_verified(flow["id"], **event_changes))
    assert world.store.registrations[flow["id"]].status == Status.OTP_SENT


async def test_otp_verified_for_an_unknown_flow_is_acknowledged(world: World) -> None:
    await world.otp_events.on_otp_verified(_otp_verified("gone"))
    assert world.store.registrations == {}


def _account_created(id_number: str = ID_NUMBER, account_id: str = "acc-9") -> Any:
    return new_event(AccountCreated(
        account_id=account_id, registration_id="r-9", subject_type="citizen", method="agent",
        level=3, identity={"id_number": id_number, "full_name": NAME},  # type: ignore[arg-type]
        created_at="2026-01-01T00:00:00Z"), correlation_id="r-9")


async def test_account_created_feeds_the_duplicate_projection_idempotently(world: World) -> None:
    event = _account_created()
    await world.handlers.on_account_created(event)
    await world.handlers.on_account_created(event)
    await world.handlers.on_account_created(_account_created(account_id="acc-10"))
    assert world.store.identities[KEY].account_id == "acc-9"
    assert f"{ACCOUNT_CREATED_CONSUMER}:{event.id}" in world.store.processed
    with pytest.raises(AccountExists):
        await started(world)


# --- the error objects ---------------------------------------------------------------------

@pytest.mark.parametrize("error", [
    AccountExists(), SubscriberMismatch(), ExternalUnavailable(), FlowState(), FlowExpired(),
    FlowNotFound(), PasswordMismatch(), InvalidPhone(), InvalidIdNumber("Sai."),
    ValidationFailed([{"name": "x", "detail": "Sai."}]),
    POLICY_REFUSAL,
])
def test_every_error_has_a_stable_code_and_a_vietnamese_detail(error: RegistrationError) -> None:
    body = error.to_error()
    assert body["code"] in {
        "account_exists", "subscriber_mismatch", "external_unavailable", "flow_state",
        "flow_expired", "not_found", "password_mismatch", "invalid_phone",
        "invalid_id_number", "validation_error", "password_policy"}
    assert body["detail"] and body["detail"] != body["code"]
    json.dumps(body)


# --- the password goes to profile, never into an event (issue 11) --------------------------

async def test_an_unreachable_profile_completes_nothing_and_the_step_can_be_retried(
        world: World) -> None:
    flow = await at_password_step(world)
    events_before = list(world.store.events)
    world.credentials.error = ExternalUnavailable()
    with pytest.raises(ExternalUnavailable):
        await world.handlers.set_password(
            {**_auth(flow), "password": GOOD_PASSWORD, "password_confirmation": GOOD_PASSWORD})
    # No completion without a password profile holds: no account can lack its password.
    assert world.store.registrations[flow["id"]].status == Status.AWAITING_PASSWORD
    assert world.store.events == events_before
    world.credentials.error = None
    answer = await world.handlers.set_password(
        {**_auth(flow), "password": GOOD_PASSWORD, "password_confirmation": GOOD_PASSWORD})
    assert answer["status"] == "completed"
    [created] = world.store.events_of("AccountCreated")
    assert world.credentials.staged[created.payload["credential_id"]] == (flow["id"],
                                                                         GOOD_PASSWORD)


async def test_a_password_profile_refuses_is_not_staged(world: World) -> None:
    flow = await at_password_step(world)
    world.credentials.error = POLICY_REFUSAL
    with pytest.raises(PasswordPolicyViolation):
        await world.handlers.set_password(
            {**_auth(flow), "password": "short", "password_confirmation": "short"})
    assert world.credentials.staged == {}
