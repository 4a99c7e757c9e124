"""Read-your-writes (issue 12): what a flow says it did can be used at once.

A registration that answers ``completed`` (201) has an account that logs in with the method
just registered on the very next request; a method just added is used by the very next login;
a password just changed is the password. No test here waits, polls or retries a login: each
does the next request once (docs/messaging.md "Read-your-writes").
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from tests.journeys import (
    API,
    STRONG_PASSWORD,
    Citizen,
    client_ip,
    flow_headers,
    login,
    new_citizen,
    next_otp,
    register,
    start_login,
    step_up,
)
from tests.security.certificates import (
    add_sim,
    approve_on_phone,
    issue,
    new_cccd,
    new_phone,
    poll,
    post,
    register_usb,
    signed,
    start,
    usb_login,
)
from tests.test_bhxh_registration_e2e import new_insured, register_by_bhxh
from tests.test_post_office_e2e import (  # noqa: F401  (agent_session is a fixture)
    agent_session,
    initial_password_sms,
    register_at_counter,
)

pytestmark = pytest.mark.e2e


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['session_token']}"}


def completed_flow(api: httpx.Client, flow_id: str, flow: dict[str, Any]) -> None:
    view = api.get(f"{API}/registrations/{flow_id}", headers=flow_headers(flow)).json()
    assert view["status"] == "completed", view


def test_a_login_right_after_a_mobile_registration(api: httpx.Client) -> None:
    citizen = new_citizen()
    done = register(api, citizen)  # asserts 201, not 202 creating_account
    assert done["status"] == "completed"
    assert login(api, citizen)["status"] == "completed"


def test_a_login_right_after_a_bhxh_registration(api: httpx.Client) -> None:
    insured = new_insured(api)
    done = register_by_bhxh(api, insured)
    assert done["status"] == "completed"
    session = login(api, insured.citizen)
    me = api.get(f"{API}/me", headers=bearer(session)).json()
    assert me["account_id"] == done["account_id"]


def test_a_login_right_after_a_usb_registration(api: httpx.Client) -> None:
    material = issue(api, id_number=new_cccd())
    done = register_usb(api, material, "citizen")
    assert done["status"] == "completed"
    _, response = usb_login(api, material)
    assert response.status_code == 200, response.text
    assert response.json()["level"] == 3


def test_a_login_right_after_a_sim_registration(api: httpx.Client) -> None:
    phone, id_number = new_phone(), new_cccd()
    add_sim(api, phone, id_number=id_number)
    flow = start(api, {"subject_type": "citizen", "method": "sim", "phone": phone},
                 "registrations")
    approve_on_phone(api, phone)
    assert poll(api, "registrations", flow)["status"] == "awaiting_confirmation"
    response = post(api, f"registrations/{flow['id']}/confirm", flow, {})
    assert response.status_code == 201, response.text
    completed_flow(api, flow["id"], flow)
    login_flow = start(api, {"method": "sim", "phone": phone}, "logins")
    approve_on_phone(api, phone)
    view = poll(api, "logins", login_flow)
    # Not certificate_not_registered: the account was there when confirm answered.
    assert view["status"] == "completed", view
    assert view["level"] == 3


def test_a_login_right_after_a_counter_registration(
        api: httpx.Client, agent_session: dict[str, Any]) -> None:  # noqa: F811
    citizen = new_citizen(sex="female", year=1979)
    response = register_at_counter(api, agent_session, citizen)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "completed"
    password = initial_password_sms(api, citizen)  # the SMS's own delivery, not the account
    started = start_login(api, created["username"], password)
    assert started.status_code == 201, started.text
    assert started.json()["status"] == "password_change_required"


def test_a_changed_password_is_the_password_at_once(api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    session = login(api, citizen)
    step_up(api, citizen, session)
    new_password = "Doi-Mat#2026vn"
    response = api.put(f"{API}/me/password", headers=bearer(session), json={
        "current_password": STRONG_PASSWORD, "new_password": new_password,
        "new_password_confirmation": new_password})
    assert response.status_code == 204, response.text
    old = api.post(f"{API}/logins", headers=client_ip(citizen.id_number), json={
        "method": "password", "username": citizen.id_number, "password": STRONG_PASSWORD})
    assert old.status_code == 401, old.text
    assert login(api, citizen, new_password)["status"] == "completed"


def test_an_added_phone_gets_the_next_login_code(api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    session = login(api, citizen)
    step_up(api, citizen, session)
    second = Citizen(citizen.id_number, citizen.full_name, citizen.birth_date, citizen.sex,
                     f"098{random.randrange(10**7):07d}")
    response = api.post(f"{API}/me/auth-methods", headers=bearer(session),
                        json={"type": "sms", "phone": second.phone})
    assert response.status_code == 201, response.text
    flow = response.json()
    response = api.post(f"{API}/me/auth-methods/flows/{flow['id']}/otp",
                        headers=bearer(session) | flow_headers(flow),
                        json={"code": next_otp(api, second)})
    assert response.status_code == 201, response.text
    # The very next login offers the phone just added and may send its code there.
    started = start_login(api, citizen.id_number, STRONG_PASSWORD)
    assert started.status_code == 201, started.text
    login_flow = started.json()
    [phone_id] = [p["phone_id"] for p in login_flow["alternatives"]
                  if p["phone_masked"].endswith(second.phone[-3:])]
    response = api.post(f"{API}/logins/{login_flow['id']}/otp/phone",
                        headers=flow_headers(login_flow) | client_ip(citizen.id_number),
                        json={"phone_id": phone_id})
    assert response.status_code == 200, response.text
    response = api.post(f"{API}/logins/{login_flow['id']}/otp", headers=flow_headers(login_flow),
                        json={"code": next_otp(api, second)})
    assert response.status_code == 200, response.text


def test_an_added_usb_token_logs_in_at_once(api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    session = login(api, citizen)
    step_up(api, citizen, session)
    own = issue(api, id_number=citizen.id_number, full_name=citizen.full_name)
    response = api.post(f"{API}/me/auth-methods", headers=bearer(session), json={"type": "usb"})
    assert response.status_code == 201, response.text
    flow = response.json()
    response = api.post(f"{API}/me/auth-methods/flows/{flow['id']}/signature",
                        headers=bearer(session) | flow_headers(flow),
                        json=signed(own, flow["challenge"]))
    assert response.status_code == 201, response.text
    _, response = usb_login(api, own)
    assert response.status_code == 200, response.text
