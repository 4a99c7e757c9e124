"""Validation of the mobile method's fields (pure): shapes first, then ID and phone rules."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError as ContractMisfit

from services.registration.domain.errors import InvalidIdNumber, InvalidPhone, ValidationFailed
from services.registration.domain.methods import choose_method
from services.registration.domain.methods.mobile import MobileApplication
from services.registration.domain.methods.mobile import parse_application as parse
from shared.contracts.registration import MobileStart

TODAY = date(2026, 1, 1)


def payload(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"subject_type": "citizen", "method": "mobile",
                            "id_number": "079185000001", "full_name": "Lê Thị Bích",
                            "birth_date": "1985-01-01", "sex": "female", "phone": "0987654321"}
    return {**base, **changes}


def parse_application(request: dict[str, Any], today: date) -> MobileApplication:
    """As served: the start's contract reads the request, then the method's rules."""
    return parse(MobileStart.model_validate(request), today)


def fields_of(error: ValidationFailed) -> dict[str, str]:
    return {f["name"]: f["detail"] for f in error.to_error()["fields"]}


def test_a_good_application() -> None:
    application = parse_application(payload(email=" Bich.Le@Gmail.COM "), TODAY)
    assert application.identity.birth_date == date(1985, 1, 1)
    assert application.phone == "+84987654321"
    assert application.email == "Bich.Le@gmail.com"
    assert choose_method(payload()["method"]) == "mobile"


@pytest.mark.parametrize("email", [None, "", "   "])
def test_the_email_is_optional(email: Any) -> None:
    assert parse_application(payload(email=email), TODAY).email is None


@pytest.mark.parametrize(("changes", "field", "reason"), [
    ({"email": "bich@"}, "email", "email"),
    ({"birth_date": "2026-01-02"}, "birth_date", "quá khứ"),
    ({"birth_date": "2015-01-01"}, "birth_date", "14 tuổi"),
    ({"birth_date": "1899-01-01"}, "birth_date", "1900"),
    ({"birth_date": None}, "birth_date", "Vui lòng nhập"),
    ({"sex": None}, "sex", "female"),
    ({"full_name": "L3"}, "full_name", "chữ cái"),
    ({"full_name": None}, "full_name", "Vui lòng nhập"),
    ({"id_number": "   "}, "id_number", "Vui lòng nhập"),
])
def test_shape_problems_are_validation_errors_naming_the_field(
        changes: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_application(payload(**changes), TODAY)
    assert reason in fields_of(err.value)[field]


@pytest.mark.parametrize(("changes", "field"), [
    ({"birth_date": "01/01/1985"}, "birth_date"),  # only YYYY-MM-DD
    ({"birth_date": 19850101}, "birth_date"),
    ({"sex": "nữ"}, "sex"),
    ({"phone": 987654321}, "phone"),
    ({"subject_type": "agency"}, "subject_type"),
])
def test_wrong_types_are_refused_by_the_contract(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ContractMisfit) as err:
        parse_application(payload(**changes), TODAY)
    assert field in {str(e["loc"][-1]) for e in err.value.errors()}


def test_the_id_number_is_checked_only_when_the_shape_is_right() -> None:
    # A bad CCCD and a bad birth date: the birth date is reported (the CCCD needs it).
    with pytest.raises(ValidationFailed) as err:
        parse_application(payload(id_number="999", birth_date=None), TODAY)
    assert set(fields_of(err.value)) == {"birth_date"}
    with pytest.raises(InvalidIdNumber):
        parse_application(payload(id_number="079085000001"), TODAY)  # male digit


def test_a_bad_phone_is_invalid_phone() -> None:
    with pytest.raises(InvalidPhone):
        parse_application(payload(phone="0287 654 321"), TODAY)
