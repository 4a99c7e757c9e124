"""Registration by BHXH code, with fakes of every port: the record decides, reveals nothing,
and the account is made from it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.registration.domain.errors import (
    AccountExists,
    BhxhMismatch,
    BhxhNotFound,
    BhxhPhoneMismatch,
    ExternalUnavailable,
    InvalidIdNumber,
    InvalidPhone,
    RegistrationRateLimited,
    ValidationFailed,
)
from services.registration.domain.methods import bhxh
from services.registration.domain.model import IdentityRecord
from services.registration.tests.fakes import World, make_world, named_fields
from shared.contracts.base import ContractViolation
from shared.events import AccountCreated, RegistrationRequested

BHXH_CODE = "0190123456"
ID_NUMBER = "001090012345"  # Hà Nội, male born in the 1900s, year 90
NAME = "Nguyễn Văn An"
BIRTH = "1990-05-17"
PHONE = "+84912345678"
PASSWORD = "Tr@ng-Sen-2026!"


def application(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "subject_type": "citizen", "method": "bhxh", "bhxh_code": BHXH_CODE,
        "id_number": ID_NUMBER, "full_name": NAME, "birth_date": BIRTH, "phone": "0912 345 678",
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not ...}


@pytest.fixture
def world() -> World:
    w = make_world()
    # The insurer holds the person's phone: the one entered must be theirs (or the carrier's).
    w.bhxh.add(BHXH_CODE, ID_NUMBER, NAME, BIRTH, sex="male", phone=PHONE)
    return w


def _auth(flow: dict[str, Any]) -> dict[str, str]:
    return {"id": flow["id"], "flow_token": flow["flow_token"]}


async def test_a_bhxh_registration_runs_to_a_level_2_account(world: World) -> None:
    flow = await world.handlers.start(application())
    assert flow["status"] == "otp_sent" and flow["phone_masked"] == "+8491****678"
    assert world.bhxh.lookups == [BHXH_CODE]
    assert world.telco.lookups == []  # the telco registry has no say in this method
    [requested] = world.store.events_of("RegistrationRequested")
    assert requested.parse(RegistrationRequested).method == "bhxh"
    assert requested.parse(RegistrationRequested).phone == PHONE

    await world.handlers.submit_otp({**_auth(flow), "code": world.otp.valid_code})
    done = await world.handlers.set_password({**_auth(flow), "password": PASSWORD,
                                              "password_confirmation": PASSWORD})
    assert done["status"] == "completed" and done["level"] == 2

    [created] = world.store.events_of("AccountCreated")
    account = created.parse(AccountCreated)
    assert account.method == "bhxh" and account.level == 2
    assert account.identity.id_number == ID_NUMBER
    assert account.identity.sex == "male"  # from the record: the form does not ask it
    assert account.phone == PHONE and account.email is None
    view = await world.handlers.get(_auth(flow))
    assert view["method"] == "bhxh" and view["identity"]["sex"] == "male"


@pytest.mark.parametrize("typed", ["nguyễn văn an", "  NGUYỄN   VĂN  AN ",
                                   "Nguye\u0302\u0303n Va\u0306n An"])  # decomposed (NFD) input
async def test_names_match_after_nfc_case_folding_and_space_collapsing(world: World,
                                                                        typed: str) -> None:
    flow = await world.handlers.start(application(full_name=typed))
    assert flow["status"] == "otp_sent"


@pytest.mark.parametrize("changes", [
    {"full_name": "Nguyen Van An"},          # diacritics stripped
    {"full_name": "Nguyên Văn An"},          # Nguyễn ≠ Nguyên
    {"full_name": "Nguyễn Văn Anh"},
    {"birth_date": "1990-05-18"},
    {"id_number": "001090012346"},
])
async def test_any_difference_is_a_mismatch_that_reveals_nothing(world: World,
                                                                 changes: dict[str, Any]) -> None:
    with pytest.raises(BhxhMismatch) as err:
        await world.handlers.start(application(**changes))
    error = json.dumps(err.value.to_error(), ensure_ascii=False)
    assert err.value.to_error()["code"] == "bhxh_mismatch"
    for secret in (NAME, ID_NUMBER, BIRTH, "0912345678", PHONE, "male"):
        assert secret not in error
    assert "fields" not in err.value.to_error()  # not even which field differed
    assert world.store.registrations == {} and world.store.events == []
    assert world.otp.issued == []


async def test_an_unknown_code_is_bhxh_not_found(world: World) -> None:
    with pytest.raises(BhxhNotFound) as err:
        await world.handlers.start(application(bhxh_code="0199999999"))
    assert err.value.to_error()["code"] == "bhxh_not_found"
    assert world.store.registrations == {}


async def test_a_registry_that_cannot_answer_is_not_a_no(world: World) -> None:
    world.bhxh.unavailable = True
    with pytest.raises(ExternalUnavailable):
        await world.handlers.start(application())
    assert world.store.registrations == {}


async def test_the_duplicate_check_uses_the_record(world: World) -> None:
    world.store.identities[f"CCCD:{ID_NUMBER}"] = IdentityRecord(
        key=f"CCCD:{ID_NUMBER}", account_id="a1", subject_type="citizen", created_at=world.clock())
    with pytest.raises(AccountExists):
        await world.handlers.start(application())
    assert world.store.registrations == {}


@pytest.mark.parametrize(("field", "value"), [
    ("bhxh_code", "019012345"), ("bhxh_code", "01901234567"), ("bhxh_code", "01901234ab"),
    ("bhxh_code", "０１９０１２３４５６"),  # full-width digits are not the code
    ("bhxh_code", ...), ("bhxh_code", 190123456), ("full_name", "An3"), ("birth_date", "1990-02-30"),
    ("subject_type", "enterprise"), ("phone", ...),
])
async def test_malformed_fields_are_named(world: World, field: str, value: Any) -> None:
    # By the service in its words, or by the contract (wrong type, no such day) before it.
    with pytest.raises((ValidationFailed, ContractViolation)) as err:
        await world.handlers.start(application(**{field: value}))
    assert field in named_fields(err.value)
    assert world.bhxh.lookups == []  # refused before any registry is asked


async def test_a_bhxh_code_may_be_typed_in_groups(world: World) -> None:
    assert bhxh.normalize_bhxh_code("01 9012 3456") == BHXH_CODE
    assert (await world.handlers.start(application(bhxh_code="0190.123.456")))["status"] == "otp_sent"


async def test_the_id_number_is_checked_against_the_birth_date_before_the_lookup(world: World) -> None:
    with pytest.raises(InvalidIdNumber):
        await world.handlers.start(application(id_number="001085012345"))  # year 85 ≠ 1990
    with pytest.raises(InvalidIdNumber):
        await world.handlers.start(application(id_number="099090012345"))  # no province 099
    assert world.bhxh.lookups == []


async def test_a_foreign_phone_is_refused(world: World) -> None:
    with pytest.raises(InvalidPhone):
        await world.handlers.start(application(phone="+14155550123"))


async def test_extra_mobile_fields_do_not_matter(world: World) -> None:
    # The sex is the record's: a field the BHXH form does not have is refused by the start's
    # contract (as the gateway refuses it), never read.
    with pytest.raises(ContractViolation) as err:
        await world.handlers.start(application(sex="female"))
    assert "sex" in named_fields(err.value)
    flow = await world.handlers.start(application())
    view = await world.handlers.get(_auth(flow))
    assert view["identity"]["sex"] == "male"


OTHER_PHONE = "+84987000111"


async def _refused_for_the_phone(world: World, phone: str = OTHER_PHONE) -> None:
    with pytest.raises(BhxhPhoneMismatch) as err:
        await world.handlers.start(application(phone=phone))
    error = json.dumps(err.value.to_error(), ensure_ascii=False)
    assert err.value.to_error()["code"] == "bhxh_phone_mismatch"
    for secret in ("0912345678", PHONE, NAME, ID_NUMBER):
        assert secret not in error  # not which phone the record holds, nor whose
    assert world.store.registrations == {} and world.store.events == []
    assert world.otp.issued == []


async def test_the_printed_card_with_someone_elses_phone_is_refused(world: World) -> None:
    await _refused_for_the_phone(world)  # a number no carrier knows
    world.telco.add(OTHER_PHONE, "001095054321", "Lê Văn Cường", "1995-01-02")
    await _refused_for_the_phone(world)  # the caller's own subscription
    assert world.telco.lookups == [OTHER_PHONE, OTHER_PHONE]


async def test_a_phone_the_carrier_registers_to_the_same_id_number_is_accepted(
        world: World) -> None:
    # The insurer's number is an old one; the carrier vouches for the new.
    world.telco.add(OTHER_PHONE, ID_NUMBER, NAME, BIRTH)
    flow = await world.handlers.start(application(phone=OTHER_PHONE))
    assert flow["status"] == "otp_sent"
    [requested] = world.store.events_of("RegistrationRequested")
    assert requested.parse(RegistrationRequested).phone == OTHER_PHONE


async def test_without_a_phone_on_record_only_the_carrier_can_vouch() -> None:
    world = make_world()
    world.bhxh.add(BHXH_CODE, ID_NUMBER, NAME, BIRTH, sex="male", phone=None)
    await _refused_for_the_phone(world, PHONE)
    world.telco.add(PHONE, ID_NUMBER, NAME, BIRTH, status="suspended")
    await _refused_for_the_phone(world, PHONE)
    world.telco.add(PHONE, ID_NUMBER, NAME, BIRTH)
    assert (await world.handlers.start(application()))["status"] == "otp_sent"


async def test_an_existing_account_is_not_told_to_a_card_holder_with_another_phone(
        world: World) -> None:
    world.store.identities[f"CCCD:{ID_NUMBER}"] = IdentityRecord(
        key=f"CCCD:{ID_NUMBER}", account_id="a1", subject_type="citizen", created_at=world.clock())
    await _refused_for_the_phone(world)
    with pytest.raises(AccountExists):  # the person, with their own phone, is told
        await world.handlers.start(application())


async def test_starts_for_one_id_number_are_braked_before_any_registry_is_asked(
        world: World) -> None:
    for _ in range(5):
        with pytest.raises(BhxhNotFound):
            await world.handlers.start(application(bhxh_code="0199999999"))
    with pytest.raises(RegistrationRateLimited) as err:
        await world.handlers.start(application())
    assert err.value.to_error()["code"] == "rate_limited"
    assert 0 < err.value.to_error()["retry_after"] <= 3600
    assert len(world.bhxh.lookups) == 5
    world.clock.advance(seconds=3600)  # a new window
    assert (await world.handlers.start(application()))["status"] == "otp_sent"
