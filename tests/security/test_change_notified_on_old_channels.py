"""Attack: a change to the account goes unnoticed by its owner.

Whoever took over a session (or a password and one code) adds their own phone and removes the
owner's; the owner must hear of it on the channels the account had BEFORE the change: an SMS
to every old phone, naming what changed, when and from which device, and what to do if it
was not them. The new phone is never the only one told.
"""

from __future__ import annotations

import random
import time
from typing import Any

import httpx
import pytest

from tests.journeys import (
    API,
    STRONG_PASSWORD,
    Citizen,
    client_ip,
    flow_headers,
    new_citizen,
    next_otp,
    register,
    step_up,
)

pytestmark = pytest.mark.e2e

CHROME_ON_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                     "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
NEW_PASSWORD = "Mai-Vang#2027vn"


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['session_token']}"}


def browser_login(api: httpx.Client, citizen: Citizen) -> dict[str, Any]:
    headers = client_ip(citizen.id_number) | {"User-Agent": CHROME_ON_WINDOWS}
    # Once: the registration answered completed, so the account is usable (read-your-writes).
    response = api.post(f"{API}/logins", headers=headers, json={
        "method": "password", "username": citizen.id_number, "password": STRONG_PASSWORD})
    assert response.status_code == 201, response.text
    flow = response.json()
    response = api.post(f"{API}/logins/{flow['id']}/otp", headers=headers | flow_headers(flow),
                        json={"code": next_otp(api, citizen)})
    assert response.status_code == 200, response.text
    return response.json()


def notices(api: httpx.Client, phone: str, containing: str,
            timeout: float = 15.0) -> list[str]:
    """The SMS bodies to ``phone`` that contain ``containing`` (waiting for the first)."""
    deadline = time.monotonic() + timeout
    while True:
        bodies = [m["body"] for m in api.get(f"{API}/dev/sms", params={"phone": phone}).json()]
        found = [b for b in bodies if containing in b]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_change_notified_on_old_channels(api: httpx.Client) -> None:
    owner = new_citizen()
    register(api, owner)
    session = browser_login(api, owner)
    step_up(api, owner, session)

    # A new phone is added (an attacker's, say).
    new_phone = Citizen(owner.id_number, owner.full_name, owner.birth_date, owner.sex,
                        f"098{random.randrange(10**7):07d}")
    response = api.post(f"{API}/me/auth-methods", headers=bearer(session),
                        json={"type": "sms", "phone": new_phone.phone})
    assert response.status_code == 201, response.text
    flow = response.json()
    response = api.post(f"{API}/me/auth-methods/flows/{flow['id']}/otp",
                        headers=bearer(session) | flow_headers(flow),
                        json={"code": next_otp(api, new_phone)})
    assert response.status_code == 201, response.text

    # The OLD phone is told: what, when, which device, and what to do if it was not them.
    told = notices(api, owner.phone, "them so dien thoai")
    assert len(told) == 1, told
    assert "Chrome" in told[0] and "Windows" in told[0], told[0]
    assert "Neu khong phai ban" in told[0], told[0]
    assert not any(ch.isdigit() and len(ch) == 6 for ch in told[0].split()), told[0]

    # The owner's phone is then removed: both the phones the account had are told, not only
    # the one that stays.
    methods = api.get(f"{API}/me/auth-methods", headers=bearer(session)).json()
    old_sms = next(m for m in methods if m["type"] == "sms"
                   and m["label"].endswith(owner.phone[-3:]))
    response = api.delete(f"{API}/me/auth-methods/{old_sms['id']}", headers=bearer(session))
    assert response.status_code == 204, response.text
    assert notices(api, owner.phone, "xoa phuong thuc"), "the removed phone was not told"
    assert notices(api, new_phone.phone, "xoa phuong thuc")

    # The password change is told to the phone the account has.
    response = api.put(f"{API}/me/password", headers=bearer(session), json={
        "current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD,
        "new_password_confirmation": NEW_PASSWORD})
    assert response.status_code == 204, response.text
    assert notices(api, new_phone.phone, "doi mat khau")


def mails(api: httpx.Client, address: str, containing: str, timeout: float = 15.0) -> list[str]:
    """The subjects of the mail the sandbox received for ``address`` containing ``containing``."""
    deadline = time.monotonic() + timeout
    while True:
        received = api.get(f"{API}/dev/mail", params={"to": address}).json()
        found = [m["subject"] + "\n" + m["body"] for m in received
                 if containing in m["subject"]]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_change_notified_on_old_e_mail(api: httpx.Client) -> None:
    owner = new_citizen()
    register(api, owner)
    session = browser_login(api, owner)
    step_up(api, owner, session)
    old_email = f"an.{random.randrange(10**8)}@example.vn"
    new_email = f"ke.gian.{random.randrange(10**8)}@example.vn"
    response = api.patch(f"{API}/me", headers=bearer(session), json={"email": old_email})
    assert response.status_code == 200, response.text

    # The e-mail is replaced (an attacker's, say): the OLD address is told, by e-mail.
    response = api.patch(f"{API}/me", headers=bearer(session), json={"email": new_email})
    assert response.status_code == 200, response.text
    [told] = mails(api, old_email, "đổi địa chỉ email")
    assert "Chrome tren Windows" in told and "Nếu không phải bạn" in told
    assert notices(api, owner.phone, "doi email")  # and the phone
    assert mails(api, new_email, "đổi địa chỉ email", timeout=1.0) == []
