"""The OTP options of the login and the forgotten password, end to end."""

from __future__ import annotations

import random
from typing import Any

import httpx
from pymongo import MongoClient

from tests.journeys import (
    API,
    STRONG_PASSWORD,
    Citizen,
    add_subscriber,
    client_ip,
    flow_headers,
    login,
    new_citizen,
    next_otp,
    register,
    start_login,
)

NEW_PASSWORD = "Sen-Vang#2027vn"


def started(api: httpx.Client, citizen: Citizen, password: str = STRONG_PASSWORD) -> dict[str, Any]:
    response = start_login(api, citizen.id_number, password)
    assert response.status_code == 201, response.text
    return response.json()


def test_resend_too_soon_is_throttled_with_retry_after(api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    flow = started(api, citizen)
    response = api.post(f"{API}/logins/{flow['id']}/otp/resend", headers=flow_headers(flow))
    assert response.status_code == 429 and response.json()["code"] == "otp_resend_too_soon"
    assert int(response.headers["Retry-After"]) > 0


def test_the_otp_goes_to_another_registered_phone(api: httpx.Client,
                                                  mongo: MongoClient) -> None:
    citizen = new_citizen()
    register(api, citizen)
    second = Citizen(citizen.id_number, citizen.full_name, citizen.birth_date, citizen.sex,
                     f"098{random.randrange(10**7):07d}")
    e164 = "+84" + second.phone[1:]
    started(api, citizen)  # waits until profile has the account
    next_otp(api, citizen)
    account = mongo["dvcid_profile"]["accounts"].find_one(
        {"id_number": f"CCCD:{citizen.id_number}"})
    assert account is not None
    mongo["dvcid_profile"]["accounts"].update_one({"_id": account["_id"]}, {"$push": {"phones": {
        "phone_id": "second-phone", "phone": e164, "otp": True,
        "added_at": account["created_at"]}}})
    flow = started(api, citizen)
    next_otp(api, citizen)  # the first code, to the first phone
    assert flow["alternatives"] == [{"phone_id": "second-phone",
                                     "phone_masked": f"+84{e164[3:5]}****{e164[-3:]}"}]
    response = api.post(f"{API}/logins/{flow['id']}/otp/phone", headers=flow_headers(flow),
                        json={"phone_id": "nobody"})
    assert response.status_code == 422
    response = api.post(f"{API}/logins/{flow['id']}/otp/phone", headers=flow_headers(flow),
                        json={"phone_id": "second-phone"})
    assert response.status_code == 200, response.text
    response = api.post(f"{API}/logins/{flow['id']}/otp", headers=flow_headers(flow),
                        json={"code": next_otp(api, second)})
    assert response.status_code == 200 and response.json()["status"] == "completed"


def test_a_lost_phone_is_replaced_only_when_the_carrier_says_it_is_theirs(
        api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    stranger = new_citizen()
    add_subscriber(api, stranger)  # registered to someone else
    flow = started(api, citizen)
    response = api.post(f"{API}/logins/{flow['id']}/lost-phone", headers=flow_headers(flow),
                        json={"phone": stranger.phone})
    assert response.status_code == 200 and response.json()["status"] == "otp_sent"
    response = api.post(f"{API}/logins/{flow['id']}/otp", headers=flow_headers(flow),
                        json={"code": next_otp(api, stranger)})
    assert response.status_code == 400 and response.json()["code"] == "subscriber_mismatch"
    # Nothing changed: the next login still sends its code to the old phone.
    flow = started(api, citizen)
    assert next_otp(api, citizen)

    new_phone = Citizen(citizen.id_number, citizen.full_name, citizen.birth_date, citizen.sex,
                        f"088{random.randrange(10**7):07d}")
    add_subscriber(api, new_phone)  # the same person, a new number
    response = api.post(f"{API}/logins/{flow['id']}/lost-phone", headers=flow_headers(flow),
                        json={"phone": new_phone.phone})
    assert response.status_code == 200, response.text
    response = api.post(f"{API}/logins/{flow['id']}/otp", headers=flow_headers(flow),
                        json={"code": next_otp(api, new_phone)})
    assert response.status_code == 200 and response.json()["status"] == "completed"
    # The OTP phone is now the new one.
    started(api, citizen)
    assert next_otp(api, new_phone)


def test_forgot_password_sets_a_new_one_and_ends_every_session(api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    session = login(api, citizen)
    bearer = {"Authorization": f"Bearer {session['session_token']}"}
    assert api.get(f"{API}/me", headers=bearer).status_code == 200
    response = api.post(f"{API}/password-resets", json={"username": citizen.id_number},
                        headers=client_ip(citizen.id_number))
    assert response.status_code == 201, response.text
    reset = response.json()
    assert reset["status"] == "otp_sent"
    url = f"{API}/password-resets/{reset['id']}"
    # The password step waits for the code; a wrong token finds nothing.
    assert api.post(f"{url}/password", headers=flow_headers(reset), json={
        "password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD}).status_code == 409
    assert api.post(f"{url}/otp", headers={"X-Flow-Token": "x"},
                    json={"code": "123456"}).status_code == 404
    response = api.post(f"{url}/otp", headers=flow_headers(reset),
                        json={"code": next_otp(api, citizen)})
    assert response.status_code == 200 and response.json()["status"] == "awaiting_password"
    response = api.post(f"{url}/password", headers=flow_headers(reset),
                        json={"password": "abc", "password_confirmation": "abc"})
    assert response.status_code == 422 and response.json()["code"] == "password_policy"
    response = api.post(f"{url}/password", headers=flow_headers(reset), json={
        "password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD + "x"})
    assert response.json()["code"] == "password_mismatch"
    response = api.post(f"{url}/password", headers=flow_headers(reset), json={
        "password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD})
    assert response.status_code == 200 and response.json()["status"] == "completed"
    # The old session ended at once; the old password no longer works, the new one does.
    assert api.get(f"{API}/me", headers=bearer).status_code == 401
    assert start_login(api, citizen.id_number, STRONG_PASSWORD).status_code == 401
    assert login(api, citizen, NEW_PASSWORD)["status"] == "completed"
