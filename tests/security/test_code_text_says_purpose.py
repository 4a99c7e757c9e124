"""Attack: a code phished under another pretext. When every SMS reads "dang ky/dang nhap" and
the SIM prompt only says "Xac thuc tai khoan", a caller claiming to be the portal can ask for
"your registration code" and use it to log in. Each OTP SMS and SIM prompt must name what it
is for, and warn not to share it (FLOWS.md: codes in Vietnamese, GSM-7 ASCII in the SMS)."""

from __future__ import annotations

import random
import unicodedata

import httpx
import pytest

from tests.journeys import (
    API,
    add_subscriber,
    client_ip,
    new_citizen,
    register,
    start_login,
    start_registration,
)

pytestmark = pytest.mark.e2e

WARNING = "khong chia se ma nay voi bat ky ai"
PURPOSES = {"registration": "dang ky", "login": "dang nhap",
            "password_reset": "dat lai mat khau"}


def plain(text: str) -> str:
    """Lower case without diacritics: the SMS is ASCII, the SIM prompt may not be."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def sms_bodies(api: httpx.Client, phone: str) -> list[str]:
    response = api.get(f"{API}/dev/sms", params={"phone": phone})
    assert response.status_code == 200, response.text
    return [plain(message["body"]) for message in response.json()]


def assert_says(body: str, purpose: str) -> None:
    assert PURPOSES[purpose] in body, body
    assert WARNING in body, body
    for other, words in PURPOSES.items():
        if other != purpose:
            assert words not in body, f"{purpose} SMS also names {other}: {body}"


def test_each_otp_sms_names_its_purpose_and_warns(api: httpx.Client) -> None:
    citizen = new_citizen()
    add_subscriber(api, citizen)
    start_registration(api, citizen)
    [registration_sms] = _wait_for(api, citizen.phone, 1)
    assert_says(registration_sms, "registration")

    other = new_citizen()
    register(api, other)
    login = start_login(api, other.id_number, "Hoa-Sen#2026vn")
    assert login.status_code == 201, login.text
    bodies = _wait_for(api, other.phone, 2)
    assert_says(bodies[0], "login")

    reset = api.post(f"{API}/password-resets", json={"username": other.id_number},
                     headers=client_ip(other.id_number + "reset"))
    assert reset.status_code == 201, reset.text
    bodies = _wait_for(api, other.phone, 3)
    assert_says(bodies[0], "password_reset")


def _wait_for(api: httpx.Client, phone: str, count: int) -> list[str]:
    """The phone's SMS, newest first, once there are ``count`` of them."""
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        bodies = sms_bodies(api, phone)
        if len(bodies) >= count:
            return bodies
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} SMS to {phone}")


def test_the_sim_prompt_names_its_purpose_and_shows_the_verification_code(
        api: httpx.Client) -> None:
    phone = f"+8491{random.randrange(10**7):07d}"
    response = api.post(f"{API}/dev/sim-subscribers", json={
        "phone": phone, "subject_type": "citizen", "full_name": "Trần Thị Bình",
        "id_number": f"001090{random.randrange(10**6):06d}", "pin": "123456"})
    assert response.status_code == 201, response.text
    for path, body, purpose in (
            ("registrations", {"subject_type": "citizen", "method": "sim", "phone": phone},
             "registration"),
            ("logins", {"method": "sim", "phone": phone}, "login")):
        flow = api.post(f"{API}/{path}", json=body, headers=client_ip(phone + path))
        assert flow.status_code == 201, flow.text
        shown = api.get(f"{API}/dev/sim/{phone}").json()
        text = plain(shown["display_text"])
        assert PURPOSES[purpose] in text, text
        assert flow.json()["verification_code"] in text, text
        assert api.post(f"{API}/dev/sim/{phone}/reject").status_code == 200
        # Let the flow see the refusal, so the next prompt is not held back as a duplicate.
        api.get(f"{API}/{path}/{flow.json()['id']}",
                headers={"X-Flow-Token": flow.json()["flow_token"]})
