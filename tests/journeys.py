"""What a citizen does, step by step, over the gateway's HTTP API (shared by e2e tests)."""

from __future__ import annotations

import hashlib
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

API = "/api/v1"
STRONG_PASSWORD = "Hoa-Sen#2026vn"
# Every personal value the journeys made up this session (ID numbers, phones, names, birth
# dates): tests/security/test_personal_data_in_logs.py looks for each in the services' logs.
PERSONAL_VALUES: set[str] = set()


def remember(*values: str) -> None:
    """Records personal values a test made up, for the log scan at the end of the session."""
    PERSONAL_VALUES.update(v for v in values if v)


@dataclass
class Citizen:
    id_number: str
    full_name: str
    birth_date: str
    sex: str
    phone: str
    seen_sms: set[str] = field(default_factory=set)

    @property
    def registration(self) -> dict[str, Any]:
        return {"subject_type": "citizen", "method": "mobile", "id_number": self.id_number,
                "full_name": self.full_name, "birth_date": self.birth_date, "sex": self.sex,
                "phone": self.phone}


def new_citizen(sex: str = "male", year: int = 1990) -> Citizen:
    """A person with a real-structured CCCD (Hà Nội, century/sex digit and year agreeing)."""
    century_sex = {("male", 19): 0, ("female", 19): 1, ("male", 20): 2, ("female", 20): 3}
    digit = century_sex[(sex, year // 100)]
    id_number = f"001{digit}{year % 100:02d}{random.randrange(10**6):06d}"
    phone = f"091{random.randrange(10**7):07d}"  # Vinaphone, national form as users type it
    name = "Nguyễn Văn An" if sex == "male" else "Trần Thị Bình"
    remember(id_number, phone, name, f"{year}-05-17")
    return Citizen(id_number, name, f"{year}-05-17", sex, phone)


def add_subscriber(api: httpx.Client, citizen: Citizen) -> None:
    response = api.post(f"{API}/dev/telco-subscribers", json={
        "phone": citizen.phone, "id_number": citizen.id_number,
        "full_name": citizen.full_name, "birth_date": citizen.birth_date})
    assert response.status_code in (200, 201), response.text


def next_otp(api: httpx.Client, citizen: Citizen, timeout: float = 15.0) -> str:
    """The newest OTP SMS to the citizen's phone that this test has not read yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = api.get(f"{API}/dev/sms", params={"phone": citizen.phone})
        assert response.status_code == 200, response.text
        for message in response.json():
            key = f"{message['sent_at']}|{message['body']}"
            if key not in citizen.seen_sms:
                citizen.seen_sms.add(key)
                found = re.search(r"\b(\d{6})\b", message["body"])
                if found is None:
                    continue  # a notice (a change to the account), not a code
                return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no new SMS to {citizen.phone} within {timeout}s")


def flow_headers(flow: dict[str, Any]) -> dict[str, str]:
    return {"X-Flow-Token": flow["flow_token"]}


def start_registration(api: httpx.Client, citizen: Citizen) -> dict[str, Any]:
    response = api.post(f"{API}/registrations", json=citizen.registration)
    assert response.status_code == 201, response.text
    return response.json()


def register(api: httpx.Client, citizen: Citizen, password: str = STRONG_PASSWORD) -> dict[str, Any]:
    """The whole mobile registration; returns the completed answer."""
    add_subscriber(api, citizen)
    flow = start_registration(api, citizen)
    response = api.post(f"{API}/registrations/{flow['id']}/otp", json={"code": next_otp(api, citizen)},
                        headers=flow_headers(flow))
    assert response.status_code == 200, response.text
    response = api.post(f"{API}/registrations/{flow['id']}/password", headers=flow_headers(flow),
                        json={"password": password, "password_confirmation": password})
    assert response.status_code == 201, response.text
    return response.json()


def start_login(api: httpx.Client, username: str, password: str) -> httpx.Response:
    """POST /logins, once: a registration that answered completed has a usable account
    (read-your-writes, docs/messaging.md), so nothing here waits for it."""
    return api.post(f"{API}/logins", json={"method": "password", "username": username,
                                           "password": password},
                    headers=client_ip(username))


def client_ip(seed: str) -> dict[str, str]:
    """An X-Forwarded-For of its own per person (the gateway trusts it from 127.0.0.1): the
    per-IP login guards of one test do not reach into another's."""
    digest = hashlib.sha256(seed.encode()).digest()
    return {"X-Forwarded-For": f"10.{digest[0]}.{digest[1]}.{digest[2]}"}


def login(api: httpx.Client, citizen: Citizen, password: str = STRONG_PASSWORD) -> dict[str, Any]:
    response = start_login(api, citizen.id_number, password)
    assert response.status_code == 201, response.text
    flow = response.json()
    response = api.post(f"{API}/logins/{flow['id']}/otp", json={"code": next_otp(api, citizen)},
                        headers=flow_headers(flow))
    assert response.status_code == 200, response.text
    return response.json()


def step_up(api: httpx.Client, citizen: Citizen, session: dict[str, Any],
            password: str = STRONG_PASSWORD) -> dict[str, Any]:
    """Re-authentication of a session (password, then the OTP to the account's phone):
    sensitive changes need it within the last few minutes."""
    headers = {"Authorization": f"Bearer {session['session_token']}"}
    response = api.post(f"{API}/me/reauthentication", headers=headers,
                        json={"method": "password", "password": password})
    assert response.status_code == 201, response.text
    flow = response.json()
    response = api.post(f"{API}/me/reauthentication/{flow['id']}/otp", headers=headers,
                        json={"code": next_otp(api, citizen)})
    assert response.status_code == 200, response.text
    return response.json()
