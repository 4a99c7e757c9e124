"""Attack: "forgot password" on an account that has no password (SIM or USB signature only)
silently created one, recoverable by SMS: whoever holds the phone for a moment (not the SIM
PIN) turned a level-3 signature account into a password + SMS account. The reset is refused
with a clear code, and no password is ever created."""

from __future__ import annotations

import time

import httpx

from tests.journeys import API, STRONG_PASSWORD, Citizen, client_ip, flow_headers, next_otp
from tests.test_usb_sim_e2e import add_sim, approve_on_phone, new_id_number, new_phone, poll, start


def sim_account(api: httpx.Client) -> tuple[str, str]:
    """A citizen registered with a SIM signature only, once the account can log in."""
    phone, id_number = new_phone(), new_id_number()
    add_sim(api, phone, id_number=id_number)
    flow = start(api, {"subject_type": "citizen", "method": "sim", "phone": "0" + phone[3:]})
    approve_on_phone(api, phone, flow["verification_code"])
    assert poll(api, "registrations", flow)["status"] == "awaiting_confirmation"
    response = api.post(f"{API}/registrations/{flow['id']}/confirm", json={},
                        headers=flow_headers(flow))
    assert response.status_code == 201, response.text
    deadline = time.monotonic() + 15
    while True:  # the account exists in profile once a SIM login completes
        login = start(api, {"method": "sim", "phone": phone}, "logins")
        approve_on_phone(api, phone, login["verification_code"])
        view = poll(api, "logins", login)
        if view["status"] == "completed" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert view["status"] == "completed", view
    return phone, id_number


def test_password_reset_on_passwordless_account_creates_no_password(api: httpx.Client) -> None:
    phone, id_number = sim_account(api)
    holder = Citizen(id_number, "Trần Thị Bình", "1990-05-17", "female", "0" + phone[3:])
    response = api.post(f"{API}/password-resets", json={"username": id_number},
                        headers=client_ip(f"passwordless-{id_number}"))
    assert response.status_code == 201, response.text  # the same answer as for any account
    reset = response.json()
    url = f"{API}/password-resets/{reset['id']}"
    # The phone is proven, and only then is the requester told why: no password to reset.
    response = api.post(f"{url}/otp", headers=flow_headers(reset),
                        json={"code": next_otp(api, holder)})
    assert (response.status_code, response.json().get("code")) == (409, "no_password_method"), \
        response.text
    assert "SIM" in response.json()["detail"]
    response = api.post(f"{url}/password", headers=flow_headers(reset), json={
        "password": STRONG_PASSWORD, "password_confirmation": STRONG_PASSWORD})
    assert response.status_code in (409, 404), response.text
    # No hidden credential: a password login to this account is impossible.
    response = api.post(f"{API}/logins", json={"method": "password", "username": id_number,
                                               "password": STRONG_PASSWORD},
                        headers=client_ip(f"passwordless-{id_number}"))
    assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")
