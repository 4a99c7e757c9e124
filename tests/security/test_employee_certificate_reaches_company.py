"""Attack: an employee's personal certificate that names the company (CN=person, O=company,
UID=CCCD:…, 2.5.4.97 VATVN-<company MST>) must never reach the company's account: not by
login, not by registering the company, not by being added to the company's methods. Only a
certificate whose subject identity is the enterprise (UID=MST:…) speaks for it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.journeys import API, flow_headers
from tests.security.certificates import (
    bearer,
    issue,
    me,
    methods_of,
    new_cccd,
    new_tax_code,
    register_usb,
    signed,
    usb_login,
    usb_registration_signature,
    usb_session,
    usb_step_up,
)

pytestmark = pytest.mark.e2e

COMPANY = "Công ty TNHH Sen Vàng"


def employee_certificate(api: httpx.Client, tax_code: str) -> dict[str, Any]:
    return issue(api, subject_type="citizen", id_number=new_cccd(), full_name="Đỗ Văn Em",
                 employer_name=COMPANY, employer_tax_code=tax_code)


def company(api: httpx.Client) -> tuple[str, str, str, dict[str, Any]]:
    """A registered enterprise: its tax code, account id, a fresh session and its own
    certificate."""
    tax_code = new_tax_code()
    material = issue(api, tax_code=tax_code, full_name=COMPANY)
    account_id = register_usb(api, material, "enterprise", email="ketoan@senvang.vn")["account_id"]
    return tax_code, account_id, usb_session(api, material), material


def test_employee_certificate_cannot_log_in_to_the_company(api: httpx.Client) -> None:
    tax_code, _, session, _ = company(api)
    _, response = usb_login(api, employee_certificate(api, tax_code))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "certificate_not_registered"
    assert "dvcid_session" not in response.cookies
    assert len(methods_of(api, session, "usb")) == 1


def test_employee_certificate_cannot_register_the_company(api: httpx.Client) -> None:
    flow, response = usb_registration_signature(
        api, employee_certificate(api, new_tax_code()), "enterprise")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    view = api.get(f"{API}/registrations/{flow['id']}", headers=flow_headers(flow)).json()
    assert view["status"] != "awaiting_confirmation" and "identity" not in view


def test_employee_certificate_cannot_be_added_to_the_company(api: httpx.Client) -> None:
    tax_code, account_id, session, material = company(api)
    assert me(api, session)["account_id"] == account_id
    usb_step_up(api, session, material)  # the company's own certificate, just now
    response = api.post(f"{API}/me/auth-methods", json={"type": "usb"}, headers=bearer(session))
    assert response.status_code == 201, response.text
    flow = response.json()
    response = api.post(f"{API}/me/auth-methods/flows/{flow['id']}/signature",
                        json=signed(employee_certificate(api, tax_code), flow["challenge"]),
                        headers=bearer(session) | flow_headers(flow))
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"
    assert len(methods_of(api, session, "usb")) == 1
