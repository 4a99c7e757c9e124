"""Attack: a bare session takes the account over.

Whoever holds a session (a cookie stolen from the browser, a computer left logged in, a
session opened with a guessed password and an intercepted code) tries every sensitive change
without proving a factor again: add their own phone or USB token, remove the owner's phone,
change the password or the e-mail, end the owner's other sessions. Each must be refused with
403 ``reauthentication_required`` and change nothing, even right after the login.
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
    flow_headers,
    login,
    new_citizen,
    next_otp,
    register,
    step_up,
)
from tests.test_usb_sim_e2e import issue

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Mai-Vang#2027vn"


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['session_token']}"}


def refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "reauthentication_required", response.text


def test_bare_session_takes_over_account(api: httpx.Client) -> None:
    owner = new_citizen()
    register(api, owner)
    owners_session = login(api, owner)
    attacker_phone = f"098{random.randrange(10**7):07d}"

    # The attacker's session: right after a login, never stepped up.
    bare = login(api, owner)
    refused(api.post(f"{API}/me/auth-methods", headers=bearer(bare),
                     json={"type": "sms", "phone": attacker_phone}))
    refused(api.post(f"{API}/me/auth-methods", headers=bearer(bare), json={"type": "usb"}))

    # The owner (stepped up) adds a second phone, so one of them could be removed.
    second = Citizen(owner.id_number, owner.full_name, owner.birth_date, owner.sex,
                     f"098{random.randrange(10**7):07d}")
    step_up(api, owner, owners_session)
    response = api.post(f"{API}/me/auth-methods", headers=bearer(owners_session),
                        json={"type": "sms", "phone": second.phone})
    assert response.status_code == 201, response.text
    flow = response.json()
    response = api.post(f"{API}/me/auth-methods/flows/{flow['id']}/otp",
                        headers=bearer(owners_session) | flow_headers(flow),
                        json={"code": next_otp(api, second)})
    assert response.status_code == 201, response.text
    before = api.get(f"{API}/me/auth-methods", headers=bearer(owners_session)).json()
    me_before = api.get(f"{API}/me", headers=bearer(owners_session)).json()

    # Every sensitive change from the bare session.
    for method in before:
        if method["type"] == "sms":
            refused(api.delete(f"{API}/me/auth-methods/{method['id']}", headers=bearer(bare)))
    refused(api.put(f"{API}/me/password", headers=bearer(bare),
                    json={"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD,
                          "new_password_confirmation": NEW_PASSWORD,
                          "end_other_sessions": True}))
    refused(api.patch(f"{API}/me", headers=bearer(bare),
                      json={"email": "ke.gian@example.vn"}))
    refused(api.delete(f"{API}/me/sessions/{owners_session['session_id']}",
                       headers=bearer(bare)))
    # A certificate of the owner's own identity (printed documents are enough to get one
    # wrongly issued) does not get in either: the flow never starts.
    own_name = issue(api, id_number=owner.id_number, full_name=owner.full_name)
    assert own_name["certificate_pem"]
    refused(api.post(f"{API}/me/auth-methods", headers=bearer(bare), json={"type": "usb"}))

    # Nothing changed.
    assert api.get(f"{API}/me/auth-methods", headers=bearer(owners_session)).json() == before
    me_after = api.get(f"{API}/me", headers=bearer(owners_session)).json()
    assert me_after["contacts"] == me_before["contacts"]
    assert api.get(f"{API}/me", headers=bearer(owners_session)).status_code == 200
    login(api, owner, STRONG_PASSWORD)  # the password is still the owner's
