"""Bad input gets a clear problem (RFC 9457, Vietnamese detail, stable code) and changes
nothing: no document anywhere mentions the person, no SMS is sent."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from tests.journeys import (
    API,
    Citizen,
    add_subscriber,
    flow_headers,
    new_citizen,
    next_otp,
    start_registration,
)

pytestmark = pytest.mark.e2e


def _stored_anywhere(mongo: MongoClient, needle: str) -> list[str]:
    """Collections (of every dvcid database) holding a document that mentions ``needle``."""
    found = []
    for db_name in mongo.list_database_names():
        if not db_name.startswith("dvcid_"):
            continue
        for name in mongo[db_name].list_collection_names():
            for doc in mongo[db_name][name].find({}):
                if needle in json.dumps(doc, default=str, ensure_ascii=False):
                    found.append(f"{db_name}.{name}")
                    break
    return found


def _assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    return problem


def _assert_nothing_changed(api: httpx.Client, mongo: MongoClient, citizen: Citizen) -> None:
    assert _stored_anywhere(mongo, citizen.id_number) == []
    assert _stored_anywhere(mongo, citizen.phone[1:]) == []  # national digits, any format
    assert api.get(f"{API}/dev/sms", params={"phone": citizen.phone}).json() == []


def test_malformed_json_is_a_problem(api: httpx.Client, mongo: MongoClient) -> None:
    response = api.post(f"{API}/registrations", content=b'{"subject_type": "citizen",',
                        headers={"content-type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.json()["code"] == "validation_error"


def test_wrong_types_name_the_fields(api: httpx.Client, mongo: MongoClient) -> None:
    citizen = new_citizen()
    body = citizen.registration | {"birth_date": 19900517, "sex": ["male"]}
    problem = _assert_problem(api.post(f"{API}/registrations", json=body), 422, "validation_error")
    named = json.dumps(problem, ensure_ascii=False)
    assert "birth_date" in named and "sex" in named
    _assert_nothing_changed(api, mongo, citizen)


@pytest.mark.parametrize("mutate", ["unknown_province", "century_contradicts_birth_date",
                                    "year_contradicts_birth_date", "letters"])
def test_an_impossible_cccd_is_refused(api: httpx.Client, mongo: MongoClient, mutate: str) -> None:
    citizen = new_citizen(sex="male", year=1990)
    add_subscriber_ok = True
    if mutate == "unknown_province":
        citizen.id_number = "099" + citizen.id_number[3:]  # no province has code 099
    elif mutate == "century_contradicts_birth_date":
        citizen.id_number = citizen.id_number[:3] + "2" + citizen.id_number[4:]  # born 2090?
    elif mutate == "year_contradicts_birth_date":
        citizen.id_number = citizen.id_number[:4] + "85" + citizen.id_number[6:]
    else:
        citizen.id_number = "00109000ABCD"
        add_subscriber_ok = False
    if add_subscriber_ok:
        add_subscriber(api, citizen)
    problem = _assert_problem(api.post(f"{API}/registrations", json=citizen.registration),
                              422, "invalid_id_number")
    assert problem["detail"]
    assert api.get(f"{API}/dev/sms", params={"phone": citizen.phone}).json() == []
    assert [c for c in _stored_anywhere(mongo, citizen.id_number) if "sandbox" not in c] == []


def test_a_foreign_phone_is_refused(api: httpx.Client, mongo: MongoClient) -> None:
    citizen = new_citizen()
    citizen.phone = "+14155550123"
    _assert_problem(api.post(f"{API}/registrations", json=citizen.registration), 422, "invalid_phone")
    _assert_nothing_changed(api, mongo, citizen)


def test_a_phone_registered_to_someone_else_is_refused(api: httpx.Client, mongo: MongoClient) -> None:
    owner = new_citizen()
    add_subscriber(api, owner)
    impostor = new_citizen()
    impostor.phone = owner.phone
    _assert_problem(api.post(f"{API}/registrations", json=impostor.registration), 400,
                    "subscriber_mismatch")
    assert _stored_anywhere(mongo, impostor.id_number) == []


def test_a_flow_without_or_with_a_wrong_token_does_not_exist(api: httpx.Client) -> None:
    citizen = new_citizen()
    add_subscriber(api, citizen)
    flow = start_registration(api, citizen)
    code = next_otp(api, citizen)
    url = f"{API}/registrations/{flow['id']}/otp"
    _assert_problem(api.post(url, json={"code": code}), 404, "not_found")
    _assert_problem(api.post(url, json={"code": code}, headers={"X-Flow-Token": "x" * 43}),
                    404, "not_found")
    _assert_problem(api.get(f"{API}/registrations/{flow['id']}"), 404, "not_found")
    # The code is still good for the real flow: the failed calls changed nothing.
    assert api.post(url, json={"code": code}, headers=flow_headers(flow)).status_code == 200


def test_an_otp_from_another_flow_is_refused(api: httpx.Client) -> None:
    first, second = new_citizen(), new_citizen()
    for citizen in (first, second):
        add_subscriber(api, citizen)
    flow_a = start_registration(api, first)
    flow_b = start_registration(api, second)
    code_a = next_otp(api, first)
    code_b = next_otp(api, second)
    if code_a == code_b:
        pytest.skip("the two random codes collided (one in a million)")
    _assert_problem(api.post(f"{API}/registrations/{flow_b['id']}/otp", json={"code": code_a},
                             headers=flow_headers(flow_b)), 401, "otp_invalid")
    response = api.get(f"{API}/registrations/{flow_b['id']}", headers=flow_headers(flow_b))
    assert response.json()["status"] == "otp_sent"
    assert flow_a["id"] != flow_b["id"]


def test_a_weak_password_lists_every_unmet_rule(api: httpx.Client) -> None:
    citizen = new_citizen()
    add_subscriber(api, citizen)
    flow = start_registration(api, citizen)
    api.post(f"{API}/registrations/{flow['id']}/otp", json={"code": next_otp(api, citizen)},
             headers=flow_headers(flow))
    url = f"{API}/registrations/{flow['id']}/password"
    problem = _assert_problem(api.post(url, headers=flow_headers(flow),
                                       json={"password": "abc", "password_confirmation": "abc"}),
                              422, "password_policy")
    assert "8" in problem["detail"]
    problem = _assert_problem(api.post(url, headers=flow_headers(flow), json={
        "password": "Hoa-Sen#2026vn", "password_confirmation": "Hoa-Sen#2026vx"}),
        422, "password_mismatch")
    response = api.get(f"{API}/registrations/{flow['id']}", headers=flow_headers(flow))
    assert response.json()["status"] == "awaiting_password"
