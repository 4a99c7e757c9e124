"""Registration and login with a USB token and with a SIM signature, end to end through the
gateway (API.md), with certificates of the sandbox CA and real CRL/OCSP fetches by pki.

The test plays the browser and the token: it signs the challenge with the private key the
sandbox CA returned; for the SIM it plays the phone's owner through ``/dev/sim/{phone}``.
"""

from __future__ import annotations

import base64
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from stdnum.vn import mst

from services.pki.tests.signing import sign
from tests.journeys import API, client_ip, flow_headers

pytestmark = pytest.mark.e2e

PIN = "123456"


def new_id_number() -> str:
    return f"001090{random.randrange(10**6):06d}"


def new_tax_code() -> str:
    while True:
        base = f"0{random.randrange(10**8):08d}"
        check = mst.calc_check_digit(base)
        if len(check) == 1:  # 10 - (sum mod 11) may be 10: no such tax code
            return base + check


def new_phone() -> str:
    return f"+8491{random.randrange(10**7):07d}"


def issue(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"full_name": "Nguyễn Văn An", "key_type": "ec"} | fields
    body.setdefault("subject_type", "enterprise" if "tax_code" in body else "citizen")
    response = api.post(f"{API}/dev/certificates", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def signed(material: dict[str, Any], challenge: str, data: bytes | None = None) -> dict[str, Any]:
    """What the signing agent returns: the certificate, its chain, the signature."""
    message = data if data is not None else base64.b64decode(challenge)
    return {"certificate": material["certificate_pem"], "chain": [material["chain_pem"]],
            "signature": sign(material["private_key_pem"], message)}


def start(api: httpx.Client, body: dict[str, Any], path: str = "registrations") -> dict[str, Any]:
    response = api.post(f"{API}/{path}", json=body, headers=client_ip(str(body)))
    assert response.status_code == 201, response.text
    flow: dict[str, Any] = response.json()
    assert flow["status"] == "awaiting_signature"
    return flow


def post(api: httpx.Client, path: str, flow: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
    return api.post(f"{API}/{path}", json=body, headers=flow_headers(flow))


def register_usb(api: httpx.Client, material: dict[str, Any], subject_type: str,
                 email: str | None = None) -> dict[str, Any]:
    flow = start(api, {"subject_type": subject_type, "method": "usb"})
    response = post(api, f"registrations/{flow['id']}/signature", flow,
                    signed(material, flow["challenge"]))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "awaiting_confirmation"
    body = {"email": email} if email else {}
    response = post(api, f"registrations/{flow['id']}/confirm", flow, body)
    assert response.status_code == 201, response.text
    done: dict[str, Any] = response.json()
    assert done["status"] == "completed" and done["level"] == 3
    return done


def login_usb(api: httpx.Client, material: dict[str, Any]) -> httpx.Response:
    """POST /logins usb then /signature, once: a completed registration's account is usable
    at once (read-your-writes)."""
    flow = start(api, {"method": "usb"}, "logins")
    return post(api, f"logins/{flow['id']}/signature", flow, signed(material, flow["challenge"]))


def me(api: httpx.Client, session_token: str) -> dict[str, Any]:
    response = api.get(f"{API}/me", headers={"Authorization": f"Bearer {session_token}"})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def poll(api: httpx.Client, path: str, flow: dict[str, Any], timeout: float = 20.0) -> dict[str, Any]:
    """GET the flow until it leaves awaiting_signature."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = api.get(f"{API}/{path}/{flow['id']}", headers=flow_headers(flow))
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        if view["status"] != "awaiting_signature":
            return view
        time.sleep(0.1)
    raise AssertionError(f"{path}/{flow['id']} still awaiting_signature after {timeout}s")


def add_sim(api: httpx.Client, phone: str, **identity: Any) -> dict[str, Any]:
    body = {"phone": phone, "full_name": "Trần Thị Bình", "pin": PIN,
            "subject_type": "enterprise" if "tax_code" in identity else "citizen"} | identity
    response = api.post(f"{API}/dev/sim-subscribers", json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def approve_on_phone(api: httpx.Client, phone: str, code: str) -> None:
    pending = api.get(f"{API}/dev/sim/{phone}")
    assert pending.status_code == 200, pending.text
    # The person compares the code on the phone with the one on the page.
    assert pending.json()["verification_code"] == code
    response = api.post(f"{API}/dev/sim/{phone}/approve", json={"pin": PIN})
    assert response.status_code == 200, response.text


def accounts_of(mongo: MongoClient, id_number: str) -> int:
    """Rows for this CCCD in registration's duplicate projection and profile's accounts (both
    keep the typed identity key in their ``id_number`` field)."""
    key = {"id_number": f"CCCD:{id_number}"}
    return int(mongo["dvcid_registration"]["identities"].count_documents(key)
               + mongo["dvcid_profile"]["accounts"].count_documents(key))


# --- USB token -------------------------------------------------------------------------------

def test_citizen_registers_with_a_usb_token_and_logs_in_with_it(api: httpx.Client,
                                                               mongo: MongoClient) -> None:
    id_number = new_id_number()
    material = issue(api, id_number=id_number, key_type="ec")
    flow = start(api, {"subject_type": "citizen", "method": "usb"})
    assert base64.b64decode(flow["challenge"])

    response = post(api, f"registrations/{flow['id']}/signature", flow,
                    signed(material, flow["challenge"]))
    assert response.status_code == 200, response.text
    accepted = response.json()
    assert accepted["status"] == "awaiting_confirmation"
    assert accepted["identity"]["id_number"] == id_number
    assert accepted["identity"]["full_name"] == "Nguyễn Văn An"
    view = api.get(f"{API}/registrations/{flow['id']}", headers=flow_headers(flow)).json()
    assert view["status"] == "awaiting_confirmation" and view["method"] == "usb"

    response = post(api, f"registrations/{flow['id']}/confirm", flow, {})
    assert response.status_code == 201, response.text
    done = response.json()
    assert done["status"] == "completed" and done["level"] == 3

    response = login_usb(api, material)
    assert response.status_code == 200, response.text
    session = response.json()
    assert session["status"] == "completed" and session["level"] == 3
    assert "dvcid_session" in response.cookies
    account = me(api, session["session_token"])
    assert account["account_id"] == done["account_id"]
    assert account["level"] == 3 and account["subject_type"] == "citizen"
    assert account["identity"]["id_number"] == id_number
    assert account["identity"]["id_type"] == "CCCD"
    # One row each in the duplicate projection and the accounts, under the typed key.
    assert accounts_of(mongo, id_number) == 2


def test_enterprise_registers_with_a_usb_token_email_required(api: httpx.Client) -> None:
    tax_code = new_tax_code()
    material = issue(api, tax_code=tax_code, full_name="Công ty TNHH Sen Vàng", key_type="rsa")
    flow = start(api, {"subject_type": "enterprise", "method": "usb"})
    response = post(api, f"registrations/{flow['id']}/signature", flow,
                    signed(material, flow["challenge"]))
    assert response.status_code == 200, response.text
    assert response.json()["identity"]["tax_code"] == tax_code

    response = post(api, f"registrations/{flow['id']}/confirm", flow, {})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "email_required"
    response = post(api, f"registrations/{flow['id']}/confirm", flow,
                    {"email": "ketoan@senvang.vn"})
    assert response.status_code == 201, response.text
    done = response.json()

    response = login_usb(api, material)
    assert response.status_code == 200, response.text
    account = me(api, response.json()["session_token"])
    assert account["account_id"] == done["account_id"]
    assert account["subject_type"] == "enterprise" and account["level"] == 3
    assert account["identity"]["tax_code"] == tax_code
    assert account["contacts"]["email"] == "ketoan@senvang.vn"


def test_a_second_certificate_logs_in_once_added_from_the_methods_page(
        api: httpx.Client) -> None:
    id_number = new_id_number()
    first = issue(api, id_number=id_number)
    register_usb(api, first, "citizen")
    response = login_usb(api, first)
    assert response.status_code == 200, response.text
    session = {"Authorization": f"Bearer {response.json()['session_token']}"}
    renewed = issue(api, id_number=id_number, key_type="rsa")
    # The same person's certificate, never bound: not a way in (and the attempt binds nothing).
    flow = start(api, {"method": "usb"}, "logins")
    response = post(api, f"logins/{flow['id']}/signature", flow, signed(renewed, flow["challenge"]))
    assert response.status_code == 400 and response.json()["code"] == "certificate_not_registered"

    # Added from "Các phương thức xác thực" after a step-up with the bound one, it logs in.
    step_up = api.post(f"{API}/me/reauthentication", json={"method": "usb"}, headers=session)
    assert step_up.status_code == 201, step_up.text
    response = api.post(f"{API}/me/reauthentication/{step_up.json()['id']}/signature",
                        json=signed(first, step_up.json()["challenge"]), headers=session)
    assert response.status_code == 200, response.text
    flow = api.post(f"{API}/me/auth-methods", json={"type": "usb"}, headers=session).json()
    response = api.post(f"{API}/me/auth-methods/flows/{flow['id']}/signature",
                        json=signed(renewed, flow["challenge"]),
                        headers=session | flow_headers(flow))
    assert response.status_code == 201, response.text
    response = login_usb(api, renewed)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("case", "code"), [
    ("revoked", "certificate_revoked"),
    ("expired", "certificate_expired"),
    ("other_data", "signature_invalid"),
])
def test_usb_registration_refusals_create_nothing(api: httpx.Client, mongo: MongoClient,
                                                  case: str, code: str) -> None:
    id_number = new_id_number()
    fields: dict[str, Any] = {"id_number": id_number}
    if case == "expired":
        past = datetime.now(UTC) - timedelta(days=1)
        fields |= {"not_before": (past - timedelta(days=30)).isoformat(),
                   "not_after": past.isoformat()}
    material = issue(api, **fields)
    if case == "revoked":
        assert api.post(f"{API}/dev/certificates/{material['serial']}/revoke").status_code == 200
    flow = start(api, {"subject_type": "citizen", "method": "usb"})
    data = b"not the challenge" if case == "other_data" else None
    response = post(api, f"registrations/{flow['id']}/signature", flow,
                    signed(material, flow["challenge"], data))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    view = api.get(f"{API}/registrations/{flow['id']}", headers=flow_headers(flow)).json()
    assert view["status"] == "awaiting_signature" and "identity" not in view
    assert post(api, f"registrations/{flow['id']}/confirm", flow, {}).json()["code"] == "flow_state"
    assert accounts_of(mongo, id_number) == 0


def test_usb_duplicate_registration_is_refused(api: httpx.Client) -> None:
    material = issue(api, id_number=new_id_number())
    register_usb(api, material, "citizen")
    time.sleep(0.3)  # the duplicate projection is written in the completing transaction
    flow = start(api, {"subject_type": "citizen", "method": "usb"})
    response = post(api, f"registrations/{flow['id']}/signature", flow,
                    signed(material, flow["challenge"]))
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "account_exists"
    view = api.get(f"{API}/registrations/{flow['id']}", headers=flow_headers(flow)).json()
    assert view["status"] == "failed" and view["code"] == "account_exists"


def test_login_with_an_unregistered_certificate(api: httpx.Client) -> None:
    material = issue(api, id_number=new_id_number())
    flow = start(api, {"method": "usb"}, "logins")
    response = post(api, f"logins/{flow['id']}/signature", flow,
                    signed(material, flow["challenge"]))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "certificate_not_registered"
    assert "dvcid_session" not in response.cookies
    view = api.get(f"{API}/logins/{flow['id']}", headers=flow_headers(flow)).json()
    assert view["status"] == "failed" and view["code"] == "certificate_not_registered"


def test_usb_login_with_a_revoked_certificate_of_the_same_person(api: httpx.Client) -> None:
    # pki caches revocation answers until their nextUpdate: the revoked certificate here is one
    # pki has never seen, so the revocation is fetched fresh.
    id_number = new_id_number()
    register_usb(api, issue(api, id_number=id_number), "citizen")
    revoked = issue(api, id_number=id_number)
    assert api.post(f"{API}/dev/certificates/{revoked['serial']}/revoke").status_code == 200
    flow = start(api, {"method": "usb"}, "logins")
    response = post(api, f"logins/{flow['id']}/signature", flow,
                    signed(revoked, flow["challenge"]))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "certificate_revoked"
    # Refused by pki: the flow waits for another certificate, none was bound.
    view = api.get(f"{API}/logins/{flow['id']}", headers=flow_headers(flow)).json()
    assert view["status"] == "awaiting_signature"


# --- SIM signature ---------------------------------------------------------------------------

def test_citizen_registers_with_a_sim_signature_and_logs_in_with_it(api: httpx.Client) -> None:
    phone, id_number = new_phone(), new_id_number()
    add_sim(api, phone, id_number=id_number)
    flow = start(api, {"subject_type": "citizen", "method": "sim", "phone": "0" + phone[3:]})
    assert len(flow["verification_code"]) == 4
    view = api.get(f"{API}/registrations/{flow['id']}", headers=flow_headers(flow)).json()
    assert view["status"] == "awaiting_signature"

    approve_on_phone(api, phone, flow["verification_code"])
    view = poll(api, "registrations", flow)
    assert view["status"] == "awaiting_confirmation", view
    assert view["identity"]["id_number"] == id_number
    response = post(api, f"registrations/{flow['id']}/confirm", flow,
                    {"email": "binh@example.vn"})
    assert response.status_code == 201, response.text
    done = response.json()

    # At once: the account is usable as soon as the registration says completed.
    login = start(api, {"method": "sim", "phone": phone}, "logins")
    approve_on_phone(api, phone, login["verification_code"])
    view = poll(api, "logins", login)
    assert view["status"] == "completed" and view["level"] == 3, view
    account = me(api, view["session_token"])
    assert account["account_id"] == done["account_id"] and account["level"] == 3
    # The completed flow reads back without the token.
    again = api.get(f"{API}/logins/{login['id']}", headers=flow_headers(login)).json()
    assert again["status"] == "completed" and "session_token" not in again


def test_enterprise_registers_with_a_sim_signature(api: httpx.Client) -> None:
    phone, tax_code = new_phone(), new_tax_code()
    add_sim(api, phone, tax_code=tax_code, full_name="Công ty Cổ phần Lúa Vàng")
    flow = start(api, {"subject_type": "enterprise", "method": "sim", "phone": phone})
    approve_on_phone(api, phone, flow["verification_code"])
    view = poll(api, "registrations", flow)
    assert view["status"] == "awaiting_confirmation" and view["identity"]["tax_code"] == tax_code
    assert post(api, f"registrations/{flow['id']}/confirm", flow, {}).json()["code"] == \
        "email_required"
    response = post(api, f"registrations/{flow['id']}/confirm", flow, {"email": "lv@luavang.vn"})
    assert response.status_code == 201, response.text


def test_sim_rejected_on_the_phone_fails_the_registration(api: httpx.Client,
                                                          mongo: MongoClient) -> None:
    phone, id_number = new_phone(), new_id_number()
    add_sim(api, phone, id_number=id_number)
    flow = start(api, {"subject_type": "citizen", "method": "sim", "phone": phone})
    assert api.post(f"{API}/dev/sim/{phone}/reject").status_code == 200
    view = poll(api, "registrations", flow)
    assert view["status"] == "failed" and view["code"] == "sim_rejected"
    assert post(api, f"registrations/{flow['id']}/confirm", flow, {}).json()["code"] == "flow_state"
    assert accounts_of(mongo, id_number) == 0


def test_sim_login_rejected_on_the_phone(api: httpx.Client) -> None:
    phone = new_phone()
    add_sim(api, phone, id_number=new_id_number())
    login = start(api, {"method": "sim", "phone": phone}, "logins")
    assert api.post(f"{API}/dev/sim/{phone}/reject").status_code == 200
    view = poll(api, "logins", login)
    assert view["status"] == "failed" and view["code"] == "sim_rejected"
    assert "session_token" not in view
