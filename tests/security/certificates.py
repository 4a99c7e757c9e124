"""Certificates of the sandbox CA and what a USB token / SIM does with them, over the public
API only (shared by the attack tests on certificate identities)."""

from __future__ import annotations

import base64
import random
import time
from typing import Any

import httpx
from stdnum.vn import mst

from services.pki.tests.signing import sign
from tests.journeys import API, client_ip, flow_headers, remember

PIN = "123456"


def new_cccd() -> str:
    number = f"001090{random.randrange(10**6):06d}"
    remember(number)  # the end-of-session log scan looks for it
    return number


def new_cmnd() -> str:
    """An old 9-digit CMND number (no checkable structure)."""
    number = f"{random.randrange(10**8, 10**9)}"
    remember(number)
    return number


def new_tax_code() -> str:
    while True:
        base = f"0{random.randrange(10**8):08d}"
        check = mst.calc_check_digit(base)
        if len(check) == 1:  # 10 - (sum mod 11) may be 10: no such tax code
            return base + check


def new_phone() -> str:
    phone = f"+8491{random.randrange(10**7):07d}"
    remember(phone)
    return phone


def issue(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"full_name": "Nguyễn Văn An", "key_type": "ec"} | fields
    body.setdefault("subject_type", "enterprise" if "tax_code" in body else "citizen")
    response = api.post(f"{API}/dev/certificates", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def signed(material: dict[str, Any], challenge: str) -> dict[str, Any]:
    """What the signing agent returns: the certificate, its chain, the signature."""
    return {"certificate": material["certificate_pem"], "chain": [material["chain_pem"]],
            "signature": sign(material["private_key_pem"], base64.b64decode(challenge))}


def start(api: httpx.Client, body: dict[str, Any], path: str,
          headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = api.post(f"{API}/{path}", json=body,
                        headers=headers or client_ip(str(body) + str(random.random())))
    assert response.status_code == 201, response.text
    flow: dict[str, Any] = response.json()
    return flow


def post(api: httpx.Client, path: str, flow: dict[str, Any], body: dict[str, Any],
         headers: dict[str, str] | None = None) -> httpx.Response:
    return api.post(f"{API}/{path}", json=body, headers=flow_headers(flow) | (headers or {}))


def usb_registration_signature(api: httpx.Client, material: dict[str, Any],
                               subject_type: str) -> tuple[dict[str, Any], httpx.Response]:
    flow = start(api, {"subject_type": subject_type, "method": "usb"}, "registrations")
    return flow, post(api, f"registrations/{flow['id']}/signature", flow,
                      signed(material, flow["challenge"]))


def register_usb(api: httpx.Client, material: dict[str, Any], subject_type: str,
                 email: str | None = None) -> dict[str, Any]:
    flow, response = usb_registration_signature(api, material, subject_type)
    assert response.status_code == 200, response.text
    response = post(api, f"registrations/{flow['id']}/confirm", flow,
                    {"email": email} if email else {})
    assert response.status_code == 201, response.text
    done: dict[str, Any] = response.json()
    return done


def usb_login(api: httpx.Client, material: dict[str, Any]) -> tuple[dict[str, Any], httpx.Response]:
    """One USB login attempt: the flow and the answer to its signature."""
    flow = start(api, {"method": "usb"}, "logins")
    return flow, post(api, f"logins/{flow['id']}/signature", flow,
                      signed(material, flow["challenge"]))


def usb_session(api: httpx.Client, material: dict[str, Any]) -> str:
    """Logs in with a bound certificate, once (a completed registration's account is usable
    at once: read-your-writes)."""
    _, response = usb_login(api, material)
    assert response.status_code == 200, response.text
    token: str = response.json()["session_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def me(api: httpx.Client, token: str) -> dict[str, Any]:
    response = api.get(f"{API}/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def methods_of(api: httpx.Client, token: str, kind: str) -> list[dict[str, Any]]:
    response = api.get(f"{API}/me/auth-methods", headers=bearer(token))
    assert response.status_code == 200, response.text
    return [m for m in response.json() if m["type"] == kind]


def add_sim(api: httpx.Client, phone: str, **identity: Any) -> None:
    body = {"phone": phone, "full_name": "Nguyễn Văn An", "pin": PIN,
            "subject_type": "enterprise" if "tax_code" in identity else "citizen"} | identity
    response = api.post(f"{API}/dev/sim-subscribers", json=body)
    assert response.status_code == 201, response.text


def approve_on_phone(api: httpx.Client, phone: str) -> None:
    response = api.post(f"{API}/dev/sim/{phone}/approve", json={"pin": PIN})
    assert response.status_code == 200, response.text


def poll(api: httpx.Client, path: str, flow: dict[str, Any], timeout: float = 20.0,
         headers: dict[str, str] | None = None) -> dict[str, Any]:
    """GET the flow until it leaves awaiting_signature."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = api.get(f"{API}/{path}/{flow['id']}",
                           headers=flow_headers(flow) | (headers or {}))
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        if view["status"] != "awaiting_signature":
            return view
        time.sleep(0.1)
    raise AssertionError(f"{path}/{flow['id']} still awaiting_signature after {timeout}s")


def usb_step_up(api: httpx.Client, token: str, material: dict[str, Any]) -> None:
    """Re-authenticates the session with a signature of a bound certificate (level 3): the
    add-method flows need a fresh step-up."""
    response = api.post(f"{API}/me/reauthentication", json={"method": "usb"},
                        headers=bearer(token))
    assert response.status_code == 201, response.text
    flow = response.json()
    response = api.post(f"{API}/me/reauthentication/{flow['id']}/signature",
                        json=signed(material, flow["challenge"]), headers=bearer(token))
    assert response.status_code == 200, response.text
