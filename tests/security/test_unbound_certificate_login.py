"""Attack: log in with a valid certificate of the account holder's identity that was never
bound to the account (a second token, a SIM someone obtained in the person's name). Only a
certificate bound at registration or through the add-method flow logs in; any other is
``certificate_not_registered`` and binds nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.journeys import login, new_citizen, register
from tests.security.certificates import (
    add_sim,
    approve_on_phone,
    issue,
    methods_of,
    new_cccd,
    new_phone,
    poll,
    register_usb,
    start,
    usb_login,
    usb_session,
)

pytestmark = pytest.mark.e2e


def test_unbound_usb_certificate_of_the_same_person_cannot_log_in(api: httpx.Client) -> None:
    id_number = new_cccd()
    bound = issue(api, id_number=id_number)
    register_usb(api, bound, "citizen")
    session = usb_session(api, bound)

    other = issue(api, id_number=id_number, key_type="rsa")
    for _ in range(2):  # nor does the first try bind it for the second
        flow, response = usb_login(api, other)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "certificate_not_registered"
        assert "dvcid_session" not in response.cookies
        view = api.get(f"/api/v1/logins/{flow['id']}",
                       headers={"X-Flow-Token": flow["flow_token"]}).json()
        assert view["status"] == "failed" and view["code"] == "certificate_not_registered"
    assert len(methods_of(api, session, "usb")) == 1


def test_sim_in_the_persons_name_cannot_log_in_to_their_mobile_account(
        api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    session = login(api, citizen)["session_token"]

    phone = new_phone()
    add_sim(api, phone, id_number=citizen.id_number, full_name=citizen.full_name)
    flow = start(api, {"method": "sim", "phone": phone}, "logins")
    approve_on_phone(api, phone)
    view = poll(api, "logins", flow)
    assert view["status"] == "failed", view
    assert view["code"] == "certificate_not_registered"
    assert "session_token" not in view
    assert methods_of(api, session, "sim") == []
