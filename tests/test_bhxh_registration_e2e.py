"""A citizen registers with their BHXH (social insurance) code: the sandbox world's BHXH
registry decides, the OTP goes to the phone, a password makes a level-2 account, and the
person logs in. Mismatches and unknown codes stop the registration and reveal nothing."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from tests.journeys import (
    API,
    STRONG_PASSWORD,
    Citizen,
    flow_headers,
    login,
    new_citizen,
    next_otp,
    register,
)

pytestmark = pytest.mark.e2e


@dataclass
class Insured:
    """A citizen as the BHXH registry knows them, and what they type on the form."""

    citizen: Citizen
    bhxh_code: str

    def form(self, **changes: Any) -> dict[str, Any]:
        body = {"subject_type": "citizen", "method": "bhxh", "bhxh_code": self.bhxh_code,
                "id_number": self.citizen.id_number, "full_name": self.citizen.full_name,
                "birth_date": self.citizen.birth_date, "phone": self.citizen.phone}
        return body | changes


def new_insured(api: httpx.Client, sex: str = "male", year: int = 1990) -> Insured:
    """A person with a fresh BHXH record in the sandbox registry, their phone on it (the
    phone must be theirs; no telco record needed then)."""
    insured = Insured(new_citizen(sex=sex, year=year), f"01{random.randrange(10**8):08d}")
    person = insured.citizen
    response = api.post(f"{API}/dev/bhxh-records", json={
        "bhxh_code": insured.bhxh_code, "id_number": person.id_number,
        "full_name": person.full_name, "birth_date": person.birth_date, "sex": person.sex,
        "phone": person.phone})
    assert response.status_code == 201, response.text
    return insured


def start_bhxh(api: httpx.Client, insured: Insured, **changes: Any) -> httpx.Response:
    return api.post(f"{API}/registrations", json=insured.form(**changes))


def register_by_bhxh(api: httpx.Client, insured: Insured) -> dict[str, Any]:
    response = start_bhxh(api, insured)
    assert response.status_code == 201, response.text
    flow = response.json()
    response = api.post(f"{API}/registrations/{flow['id']}/otp", headers=flow_headers(flow),
                        json={"code": next_otp(api, insured.citizen)})
    assert response.status_code == 200, response.text
    response = api.post(f"{API}/registrations/{flow['id']}/password", headers=flow_headers(flow),
                        json={"password": STRONG_PASSWORD,
                              "password_confirmation": STRONG_PASSWORD})
    assert response.status_code == 201, response.text
    return {**response.json(), "id": flow["id"]}


def test_register_by_bhxh_then_log_in(api: httpx.Client, mongo: MongoClient) -> None:
    insured = new_insured(api, sex="female", year=1996)
    response = start_bhxh(api, insured)
    assert response.status_code == 201, response.text
    flow = response.json()
    assert flow["status"] == "otp_sent" and flow["phone_masked"].endswith(insured.citizen.phone[-3:])
    response = api.post(f"{API}/registrations/{flow['id']}/otp", headers=flow_headers(flow),
                        json={"code": next_otp(api, insured.citizen)})
    assert response.status_code == 200 and response.json()["status"] == "awaiting_password"
    response = api.post(f"{API}/registrations/{flow['id']}/password", headers=flow_headers(flow),
                        json={"password": STRONG_PASSWORD,
                              "password_confirmation": STRONG_PASSWORD})
    assert response.status_code == 201, response.text
    completed = response.json()
    assert completed["status"] == "completed" and completed["level"] == 2

    view = api.get(f"{API}/registrations/{flow['id']}", headers=flow_headers(flow)).json()
    assert view["method"] == "bhxh" and view["identity"]["sex"] == "female"  # from the record
    stored = mongo["dvcid_registration"]["registrations"].find_one({"_id": flow["id"]})
    assert stored is not None and stored["method"] == "bhxh" and stored["status"] == "completed"

    session = login(api, insured.citizen)
    assert session["level"] == 2
    me = api.get(f"{API}/me", headers={"Authorization": f"Bearer {session['session_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["account_id"] == completed["account_id"]
    assert me.json()["identity"]["id_number"] == insured.citizen.id_number


def test_the_seeded_registry_is_reachable_through_the_gateway(api: httpx.Client) -> None:
    response = api.get(f"{API}/dev/bhxh-records/0107001122")
    assert response.status_code == 200
    assert response.json()["full_name"] == "Nguyễn Thị Ngọc Ánh"


def test_the_name_is_compared_by_case_and_spacing_but_never_by_diacritics(api: httpx.Client) -> None:
    insured = new_insured(api)  # "Nguyễn Văn An"
    sloppy = start_bhxh(api, insured, full_name="  nguyễn   VĂN an ")
    assert sloppy.status_code == 201, sloppy.text
    for typed in ("Nguyen Van An", "Nguyên Văn An"):
        other = new_insured(api)
        response = start_bhxh(api, other, full_name=typed)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "bhxh_mismatch"


def _reveals(problem: dict[str, Any], insured: Insured) -> list[str]:
    text = json.dumps(problem, ensure_ascii=False)
    person = insured.citizen
    return [value for value in (person.full_name, person.birth_date, person.id_number,
                                person.birth_date.replace("-", "/"), "female", "male", "nữ")
            if value in text]


@pytest.mark.parametrize("changes", [
    {"birth_date": "1990-05-18"}, {"full_name": "Nguyễn Văn Anh"},
])
def test_a_mismatch_stops_the_registration_and_reveals_nothing(
        api: httpx.Client, changes: dict[str, Any]) -> None:
    insured = new_insured(api)
    response = start_bhxh(api, insured, **changes)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "bhxh_mismatch"
    assert "BHXH" in problem["detail"] and "errors" not in problem
    assert _reveals(problem, insured) == []
    assert api.get(f"{API}/dev/sms", params={"phone": insured.citizen.phone}).json() == []


def test_another_persons_id_number_is_a_mismatch(api: httpx.Client) -> None:
    insured, stranger = new_insured(api), new_citizen()
    response = start_bhxh(api, insured, id_number=stranger.id_number)
    assert response.status_code == 400 and response.json()["code"] == "bhxh_mismatch"


def test_an_unknown_code_is_bhxh_not_found(api: httpx.Client) -> None:
    insured = new_insured(api)
    response = start_bhxh(api, insured, bhxh_code="0099999999")
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "bhxh_not_found" and problem["detail"]
    assert api.get(f"{API}/dev/sms", params={"phone": insured.citizen.phone}).json() == []


@pytest.mark.parametrize("code", ["12345", "01234567890", "01234abcde"])
def test_a_malformed_code_is_a_validation_error(api: httpx.Client, code: str) -> None:
    insured = new_insured(api)
    response = start_bhxh(api, insured, bhxh_code=code)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert "bhxh_code" in [e["name"] for e in response.json()["errors"]]


def test_one_account_per_id_number_across_methods(api: httpx.Client) -> None:
    insured = new_insured(api)
    register(api, insured.citizen)  # by mobile first (adds the telco record)
    login(api, insured.citizen)  # the account exists and the projection has caught up
    response = start_bhxh(api, insured)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "account_exists"


def test_two_bhxh_registrations_of_one_person_make_one_account(api: httpx.Client) -> None:
    insured = new_insured(api)
    first = register_by_bhxh(api, insured)
    assert first["level"] == 2
    response = start_bhxh(api, insured)
    # Refused at start (projection already there) or at completion (the unique index).
    if response.status_code == 201:
        flow = response.json()
        api.post(f"{API}/registrations/{flow['id']}/otp", headers=flow_headers(flow),
                 json={"code": next_otp(api, insured.citizen)})
        response = api.post(f"{API}/registrations/{flow['id']}/password",
                            headers=flow_headers(flow),
                            json={"password": STRONG_PASSWORD,
                                  "password_confirmation": STRONG_PASSWORD})
    assert response.status_code == 409 and response.json()["code"] == "account_exists"
