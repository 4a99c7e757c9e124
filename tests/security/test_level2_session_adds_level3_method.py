"""Attack: a level-2 session adds or removes a level-3 method.

Someone who knows the password and reads one OTP (a level-2 proof) must not be able to bind
a USB token or SIM signature (level 3) or to remove the owner's: once the account has a
level-3 factor, changing one needs a step-up with a signature of a certificate bound to the
account (403 ``insufficient_assurance`` otherwise). Before the account has any, the strongest
factor it has (password + OTP) is the most that can be asked, and the certificate must name
the owner.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from tests.journeys import API, flow_headers, login, new_citizen, register, step_up
from tests.test_usb_sim_e2e import issue, signed

pytestmark = pytest.mark.e2e


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['session_token']}"}


def problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text


def add_usb(api: httpx.Client, session: dict[str, Any], material: dict[str, Any]) -> httpx.Response:
    response = api.post(f"{API}/me/auth-methods", headers=bearer(session), json={"type": "usb"})
    if response.status_code != 201:
        return response
    flow = response.json()
    return api.post(f"{API}/me/auth-methods/flows/{flow['id']}/signature",
                    headers=bearer(session) | flow_headers(flow),
                    json=signed(material, flow["challenge"]))


def step_up_usb(api: httpx.Client, session: dict[str, Any],
                material: dict[str, Any]) -> httpx.Response:
    response = api.post(f"{API}/me/reauthentication", headers=bearer(session),
                        json={"method": "usb"})
    assert response.status_code == 201, response.text
    flow = response.json()
    return api.post(f"{API}/me/reauthentication/{flow['id']}/signature",
                    headers=bearer(session), json=signed(material, flow["challenge"]))


def test_level2_session_adds_level3_method(api: httpx.Client) -> None:
    owner = new_citizen()
    register(api, owner)
    owners_token = issue(api, id_number=owner.id_number, full_name=owner.full_name)
    # A level-2 session, right after the login, cannot bind a token at all.
    session = login(api, owner)
    assert session["level"] == 2
    problem(add_usb(api, session, owners_token), 403, "reauthentication_required")

    # The owner steps up with the strongest factor the account has (password + OTP) and binds
    # the first level-3 method: a token naming the owner.
    step_up(api, owner, session)
    response = add_usb(api, session, owners_token)
    assert response.status_code == 201, response.text
    usb_method = response.json()

    # The attacker: password + one OTP, stepped up the same way (level 2).
    attacker = login(api, owner)
    assert step_up(api, owner, attacker)["level"] == 2
    attackers_token = issue(api, id_number=owner.id_number, full_name=owner.full_name)
    problem(add_usb(api, attacker, attackers_token), 403, "insufficient_assurance")
    problem(api.post(f"{API}/me/auth-methods", headers=bearer(attacker),
                     json={"type": "sim", "phone": f"091{random.randrange(10**7):07d}"}),
            403, "insufficient_assurance")
    problem(api.delete(f"{API}/me/auth-methods/{usb_method['id']}", headers=bearer(attacker)),
            403, "insufficient_assurance")
    methods = api.get(f"{API}/me/auth-methods", headers=bearer(session)).json()
    assert [m["type"] for m in methods] == ["password", "sms", "usb"]

    # A token that is not bound to the account is no level-3 step-up either.
    problem(step_up_usb(api, attacker, attackers_token), 403, "forbidden")
    problem(add_usb(api, attacker, attackers_token), 403, "insufficient_assurance")

    # The owner's token, bound to the account, is: the owner may now change level-3 methods.
    response = step_up_usb(api, session, owners_token)
    assert response.status_code == 200, response.text
    assert response.json()["level"] == 3
    response = api.delete(f"{API}/me/auth-methods/{usb_method['id']}", headers=bearer(session))
    assert response.status_code == 204, response.text
