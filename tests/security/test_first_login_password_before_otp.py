"""Attack: the first login of a post-office account saved the new password before the OTP.
Whoever holds the one-time password (the paper handed over at the counter, the SMS read over a
shoulder) sets a password of their choice without the phone: the owner's one-time password
stops working and the attacker's becomes the account's. The new password may only be saved
together with a verified OTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dvcid.devstack import DevStack
from tests.journeys import API, flow_headers, new_citizen, next_otp, start_login
from tests.test_post_office_e2e import (
    Staff,
    admin,
    bearer,
    counter_request,
    first_login,
    initial_password_sms,
    random_id_number,
    random_phone,
)

ATTACKERS_PASSWORD = "Ke-Gian#2026vn"


@pytest.fixture(scope="module")
def agent(stack: DevStack, api: httpx.Client) -> dict[str, Any]:
    phone = random_phone()
    created = admin(stack, "create-agent", "--id-number", random_id_number(),
                    "--full-name", "Phạm Văn Cường", "--phone", phone,
                    "--office", "Bưu điện Hải Phòng", "--office-code", "HP-002")
    return first_login(api, Staff(created["username"], created["initial_password"], phone,
                                  set()), created["username"], created["initial_password"])


def test_first_login_password_is_not_saved_before_the_otp(
        api: httpx.Client, agent: dict[str, Any]) -> None:
    citizen = new_citizen(sex="female", year=1979)
    response = api.post(f"{API}/agent/registrations", headers=bearer(agent),
                        json=counter_request(citizen))
    assert response.status_code == 201, response.text
    # The citizen reads the code sent to their phone back to the agent.
    response = api.post(f"{API}/agent/registrations/{response.json()['id']}/otp",
                        headers=bearer(agent), json={"code": next_otp(api, citizen)})
    assert response.status_code == 201, response.text
    username = response.json()["username"]
    initial = initial_password_sms(api, citizen)

    # The attacker holds the one-time password, not the phone.
    response = start_login(api, username, initial)
    assert response.status_code == 201, response.text
    flow = response.json()
    response = api.post(f"{API}/logins/{flow['id']}/password", headers=flow_headers(flow),
                        json={"new_password": ATTACKERS_PASSWORD,
                              "new_password_confirmation": ATTACKERS_PASSWORD})
    assert response.status_code == 200 and response.json()["status"] == "otp_sent"
    # No OTP was entered: the attacker's password is not the account's...
    response = start_login(api, username, ATTACKERS_PASSWORD)
    assert response.status_code == 401, response.text
    # ...and the owner's one-time password still leads to the password change.
    response = start_login(api, username, initial)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "password_change_required"
