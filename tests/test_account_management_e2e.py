"""Account management (API.md "The account", /me) end to end through the gateway: identity
per subject type, contacts, login history, sessions, password, authentication methods, and
an account visible to its owner only."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest

from dvcid.admin import create_agency
from dvcid.devstack import DevStack
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
from tests.test_usb_sim_e2e import issue, login_usb, new_tax_code, register_usb, signed

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Mai-Vang#2027vn"


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['session_token']}"}


def citizen_with_session(api: httpx.Client) -> tuple[Citizen, dict[str, Any]]:
    citizen = new_citizen()
    register(api, citizen)
    return citizen, login(api, citizen)


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


# --- identity per subject type -------------------------------------------------------------

def test_citizen_reads_and_edits_the_account(api: httpx.Client) -> None:
    citizen, session = citizen_with_session(api)
    response = api.get(f"{API}/me", headers=bearer(session))
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["subject_type"] == "citizen" and me["level"] == 2
    identity = me["identity"]
    assert identity["id_number"] == citizen.id_number
    assert identity["full_name"] == citizen.full_name
    assert identity["birth_date"] == citizen.birth_date and identity["sex"] == citizen.sex
    assert identity["addresses"] == []
    assert me["contacts"]["phones"][0]["phone_masked"].endswith(citizen.phone[-3:])

    step_up(api, citizen, session)  # the e-mail is a sensitive change
    response = api.patch(f"{API}/me", headers=bearer(session),
                         json={"email": "an.nguyen@Example.VN", "address": "1 Tràng Tiền"})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["contacts"]["email"] == "an.nguyen@example.vn"
    assert updated["identity"]["addresses"] == [{"type": "contact", "address": "1 Tràng Tiền"}]

    body = problem(api.patch(f"{API}/me", headers=bearer(session), json={"email": "không"}),
                   422, "validation_error")
    assert body["errors"][0]["name"] == "email"
    body = problem(api.patch(f"{API}/me", headers=bearer(session),
                             json={"full_name": "Người Khác", "birth_date": "2000-01-01"}),
                   403, "forbidden")
    assert {e["name"] for e in body["errors"]} == {"full_name", "birth_date"}
    assert api.get(f"{API}/me", headers=bearer(session)).json()["identity"]["full_name"] \
        == citizen.full_name


def test_enterprise_identity_is_tax_code_name_and_representative(api: httpx.Client) -> None:
    tax_code = new_tax_code()
    material = issue(api, tax_code=tax_code, full_name="Công ty TNHH Sen Vàng", key_type="ec")
    register_usb(api, material, "enterprise", email="ketoan@senvang.vn")
    response = login_usb(api, material)
    assert response.status_code == 200, response.text
    session = response.json()
    me = api.get(f"{API}/me", headers=bearer(session)).json()
    assert me["subject_type"] == "enterprise" and me["level"] == 3
    assert me["identity"]["tax_code"] == tax_code
    assert me["identity"]["name"] == "Công ty TNHH Sen Vàng"
    assert "representative" in me["identity"]
    # Level-3 identity: read-only, said so.
    body = problem(api.patch(f"{API}/me", headers=bearer(session), json={"name": "Khác"}),
                   403, "forbidden")
    assert body["errors"] == [{"name": "name", "detail": "Trường chỉ đọc."}]
    assert "mức độ 3" in body["detail"]
    # An enterprise keeps an e-mail.
    problem(api.patch(f"{API}/me", headers=bearer(session), json={"email": None}),
            422, "validation_error")
    methods = api.get(f"{API}/me/auth-methods", headers=bearer(session)).json()
    assert [m["type"] for m in methods] == ["usb"]
    assert methods[0]["label"].startswith("USB ký số: Công ty TNHH Sen Vàng, hết hạn ")
    assert methods[0]["last_used_at"] is not None
    # The only way in cannot be removed.
    problem(api.delete(f"{API}/me/auth-methods/{methods[0]['id']}", headers=bearer(session)),
            409, "last_auth_method")


def test_agency_identity_is_code_and_name(api: httpx.Client, stack: DevStack) -> None:
    code = f"000.00.{random.randrange(100):02d}.H{random.randrange(10**4):04d}"
    phone = f"097{random.randrange(10**7):07d}"
    created = asyncio.run(create_agency(stack.nats_url, code=code, name="Sở Tư pháp Hà Nội",
                                        phone=phone, email="stp@hanoi.gov.vn",
                                        seed_file=stack.nats_seed("operator")))
    person = Citizen(code, "Sở Tư pháp Hà Nội", "", "", phone)
    response = start_login(api, code, created.initial_password)
    assert response.status_code == 201, response.text
    flow = response.json()
    assert flow["status"] == "password_change_required"
    response = api.post(f"{API}/logins/{flow['id']}/password", headers=flow_headers(flow),
                        json={"new_password": NEW_PASSWORD,
                              "new_password_confirmation": NEW_PASSWORD})
    assert response.status_code == 200, response.text
    response = api.post(f"{API}/logins/{flow['id']}/otp", headers=flow_headers(flow),
                        json={"code": next_otp(api, person)})
    assert response.status_code == 200, response.text
    me = api.get(f"{API}/me", headers=bearer(response.json())).json()
    assert me["subject_type"] == "agency"
    assert me["identity"]["code"] == code and me["identity"]["name"] == "Sở Tư pháp Hà Nội"
    assert me["contacts"]["email"] == "stp@hanoi.gov.vn"


# --- login history and sessions ------------------------------------------------------------

def test_login_history_and_sessions(api: httpx.Client) -> None:
    citizen, first = citizen_with_session(api)
    wrong = api.post(f"{API}/logins", headers=client_ip(citizen.id_number),
                     json={"method": "password", "username": citizen.id_number,
                           "password": "Sai-MatKhau#1"})
    problem(wrong, 401, "invalid_credentials")
    second = login(api, citizen)

    response = api.get(f"{API}/me/logins", headers=bearer(second))
    assert response.status_code == 200, response.text
    history = response.json()
    assert [h["result"] for h in history] == ["success", "failure", "success"]
    assert history[0]["method"] == "password" and history[0]["at"] > history[2]["at"]
    # The failure is recorded at POST /logins (its IP); a success at the OTP step.
    assert history[1]["ip"] == client_ip(citizen.id_number)["X-Forwarded-For"]
    assert all(h["ip"] and h["user_agent"] for h in history)
    page = api.get(f"{API}/me/logins", headers=bearer(second), params={"limit": 2})
    assert len(page.json()) == 2
    rest = api.get(f"{API}/me/logins", headers=bearer(second),
                   params={"limit": 2, "before": page.headers["X-Next-Before"]}).json()
    assert rest == history[2:]

    sessions = api.get(f"{API}/me/sessions", headers=bearer(second)).json()
    assert {s["id"]: s["current"] for s in sessions} == {second["session_id"]: True,
                                                         first["session_id"]: False}
    assert all(s["level"] == 2 and s["method"] == "password" for s in sessions)
    step_up(api, citizen, second)  # ending another session is a sensitive change
    response = api.delete(f"{API}/me/sessions/{first['session_id']}", headers=bearer(second))
    assert response.status_code == 204, response.text
    problem(api.get(f"{API}/me", headers=bearer(first)), 401, "unauthenticated")
    problem(api.delete(f"{API}/me/sessions/{first['session_id']}", headers=bearer(second)),
            404, "not_found")
    assert [s["id"] for s in api.get(f"{API}/me/sessions", headers=bearer(second)).json()] \
        == [second["session_id"]]


# --- password and methods ------------------------------------------------------------------

def test_change_password_ending_the_other_sessions(api: httpx.Client) -> None:
    citizen, other = citizen_with_session(api)
    session = login(api, citizen)
    step_up(api, citizen, session)
    change = {"current_password": "Sai#2026abc", "new_password": NEW_PASSWORD,
              "new_password_confirmation": NEW_PASSWORD}
    problem(api.put(f"{API}/me/password", headers=bearer(session), json=change),
            401, "invalid_credentials")
    problem(api.put(f"{API}/me/password", headers=bearer(session),
                    json=change | {"current_password": STRONG_PASSWORD, "new_password": "abc",
                                   "new_password_confirmation": "abc"}),
            422, "password_policy")
    response = api.put(f"{API}/me/password", headers=bearer(session),
                       json=change | {"current_password": STRONG_PASSWORD,
                                      "end_other_sessions": True})
    assert response.status_code == 204, response.text
    problem(api.get(f"{API}/me", headers=bearer(other)), 401, "unauthenticated")
    assert api.get(f"{API}/me", headers=bearer(session)).status_code == 200
    problem(api.post(f"{API}/logins", headers=client_ip(citizen.id_number),
                     json={"method": "password", "username": citizen.id_number,
                           "password": STRONG_PASSWORD}), 401, "invalid_credentials")
    login(api, citizen, NEW_PASSWORD)


def test_add_and_remove_an_sms_phone(api: httpx.Client) -> None:
    citizen, session = citizen_with_session(api)
    methods = api.get(f"{API}/me/auth-methods", headers=bearer(session)).json()
    assert [m["type"] for m in methods] == ["password", "sms"]
    assert methods[1]["label"] == f"SMS +8491****{citizen.phone[-3:]}"
    assert methods[1]["last_used_at"] is not None

    step_up(api, citizen, session)
    second_phone = Citizen(citizen.id_number, citizen.full_name, citizen.birth_date,
                           citizen.sex, f"098{random.randrange(10**7):07d}")
    response = api.post(f"{API}/me/auth-methods", headers=bearer(session),
                        json={"type": "sms", "phone": second_phone.phone})
    assert response.status_code == 201, response.text
    flow = response.json()
    assert flow["status"] == "otp_sent" and flow["phone_masked"].endswith(second_phone.phone[-3:])
    otp_url = f"{API}/me/auth-methods/flows/{flow['id']}/otp"
    problem(api.post(otp_url, headers=bearer(session) | flow_headers(flow),
                     json={"code": "000000"}), 401, "otp_invalid")
    response = api.post(otp_url, headers=bearer(session) | flow_headers(flow),
                        json={"code": next_otp(api, second_phone)})
    assert response.status_code == 201, response.text
    added = response.json()
    assert added["type"] == "sms" and added["label"].endswith(second_phone.phone[-3:])
    problem(api.post(f"{API}/me/auth-methods", headers=bearer(session),
                     json={"type": "sms", "phone": second_phone.phone}),
            422, "validation_error")

    response = api.delete(f"{API}/me/auth-methods/{methods[1]['id']}", headers=bearer(session))
    assert response.status_code == 204, response.text
    problem(api.delete(f"{API}/me/auth-methods/{added['id']}", headers=bearer(session)),
            409, "last_auth_method")
    # The login OTP now goes to the new phone.
    login(api, second_phone)


def test_add_a_usb_token_of_ones_own_identity_only(api: httpx.Client) -> None:
    citizen, session = citizen_with_session(api)
    stranger = issue(api, id_number=f"001090{random.randrange(10**6):06d}")
    own = issue(api, id_number=citizen.id_number, full_name=citizen.full_name)
    step_up(api, citizen, session)
    for material, status in ((stranger, 403), (own, 201)):
        response = api.post(f"{API}/me/auth-methods", headers=bearer(session),
                            json={"type": "usb"})
        assert response.status_code == 201, response.text
        flow = response.json()
        response = api.post(f"{API}/me/auth-methods/flows/{flow['id']}/signature",
                            headers=bearer(session) | flow_headers(flow),
                            json=signed(material, flow["challenge"]))
        assert response.status_code == status, response.text
    assert response.json()["type"] == "usb"
    me = api.get(f"{API}/me", headers=bearer(session)).json()
    assert me["level"] == 3
    response = login_usb(api, own)
    assert response.status_code == 200, response.text
    assert response.json()["level"] == 3


# --- visible to its owner only -------------------------------------------------------------

def test_every_me_route_needs_the_owners_session(api: httpx.Client) -> None:
    owner_citizen, owner = citizen_with_session(api)
    intruder_citizen, intruder = citizen_with_session(api)
    step_up(api, owner_citizen, owner)
    step_up(api, intruder_citizen, intruder)  # the 404s below are not for want of a step-up
    flow = api.post(f"{API}/me/auth-methods", headers=bearer(owner),
                    json={"type": "sms", "phone": f"098{random.randrange(10**7):07d}"}).json()
    method_id = api.get(f"{API}/me/auth-methods", headers=bearer(owner)).json()[1]["id"]
    flows = f"{API}/me/auth-methods/flows/{flow['id']}"
    signature = {"certificate": "x", "signature": "eA=="}
    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/me", None), ("PATCH", "/me", {"address": "x"}),
        ("GET", "/me/logins", None), ("GET", "/me/sessions", None),
        ("DELETE", f"/me/sessions/{owner['session_id']}", None),
        ("GET", "/me/auth-methods", None),
        ("POST", "/me/auth-methods", {"type": "sms", "phone": "0987654321"}),
        ("GET", flows.removeprefix(API), None),
        ("POST", f"{flows.removeprefix(API)}/otp", {"code": "123456"}),
        ("POST", f"{flows.removeprefix(API)}/signature", signature),
        ("DELETE", f"/me/auth-methods/{method_id}", None),
        ("POST", "/me/reauthentication", {"method": "password", "password": STRONG_PASSWORD}),
        ("PUT", "/me/password", {"current_password": STRONG_PASSWORD,
                                 "new_password": NEW_PASSWORD,
                                 "new_password_confirmation": NEW_PASSWORD}),
    ]
    # A client without the session cookie the shared client keeps from earlier logins.
    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
        for method, path, body in routes:
            response = anonymous.request(method, f"{API}{path}", json=body,
                                         headers=flow_headers(flow))
            problem(response, 401, "unauthenticated")
    # Another account's ids do not exist for the intruder.
    for method, path, body in routes:
        if "sessions/" in path or "auth-methods/" in path:
            response = api.request(method, f"{API}{path}", json=body,
                                   headers=bearer(intruder) | flow_headers(flow))
            problem(response, 404, "not_found")
    # Nothing of the owner's changed.
    assert api.get(f"{API}/me", headers=bearer(owner)).status_code == 200
    assert len(api.get(f"{API}/me/auth-methods", headers=bearer(owner)).json()) == 2
