"""Attack: reading people's personal data from the services' logs.

Logs are read by operators, shipped to log stores and kept for months: whoever reads them
must not learn who registered with which ID number, phone, name or birth date. Before the fix
registration's log showed the phone number of every outbound request (the HTTP client library
logs URLs at INFO). This test runs LAST in the session (tests/conftest.py moves it there) and
looks, in every process's log of the e2e stack, for every personal value the journeys made up
(tests/journeys.py ``remember``), in its usual written forms, and for the secrets (OTP, flow
and session tokens) of the journeys it runs itself. The sandbox world's own log is
the outside world's and is left out, except for the phone pattern the repository's hook
checks in every log.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dvcid.devstack import DevStack
from tests.journeys import (
    API,
    PERSONAL_VALUES,
    flow_headers,
    login,
    new_citizen,
    next_otp,
    register,
    remember,
)

pytestmark = pytest.mark.e2e

# The repository's pre-stop hook: any Vietnamese mobile number, national or E.164.
ANY_PHONE = re.compile(r"(\+84|\b0)[35789][0-9]{8}\b")
OUTSIDE_WORLD_LOG = "sandbox.log"
SIM_PIN = "246810"


def _forms(value: str) -> set[str]:
    """How a value shows up in a log line, lower-cased."""
    if re.fullmatch(r"0\d{9}", value):
        return {value[1:]}  # the subscriber digits: in 0912…, +84912… and 84912… alike
    if date := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value):
        year, month, day = date.groups()
        return {value, f"{day}/{month}/{year}", f"{year}{month}{day}"}
    if value.isdigit():
        return {value}
    return {value.lower(), json.dumps(value.lower())[1:-1]}  # names, also \\u-escaped


def _logs(stack: DevStack) -> dict[str, str]:
    return {path.name: path.read_text(errors="replace")
            for path in sorted(Path(stack.logs).glob("*.log"))}


def _bhxh_registration(api: httpx.Client) -> set[str]:
    """A BHXH registration to the password step; its secrets (flow token, OTP)."""
    person = new_citizen(sex="female", year=1994)
    code = "06" + person.id_number[-8:]
    record = {"bhxh_code": code, "id_number": person.id_number, "full_name": person.full_name,
              "birth_date": person.birth_date, "sex": person.sex, "phone": person.phone}
    assert api.post(f"{API}/dev/bhxh-records", json=record).status_code == 201
    form = {"subject_type": "citizen", "method": "bhxh", "bhxh_code": code,
            "id_number": person.id_number, "full_name": person.full_name,
            "birth_date": person.birth_date, "phone": person.phone}
    response = api.post(f"{API}/registrations", json=form)
    assert response.status_code == 201, response.text
    flow = response.json()
    code = next_otp(api, person)
    response = api.post(f"{API}/registrations/{flow['id']}/otp", headers=flow_headers(flow),
                        json={"code": code})
    assert response.status_code == 200, response.text
    return {flow["flow_token"], code}


def _sim_registration(api: httpx.Client) -> None:
    person = new_citizen(year=1983)
    sim = {"phone": person.phone, "subject_type": "citizen", "id_number": person.id_number,
           "full_name": person.full_name, "pin": SIM_PIN}
    assert api.post(f"{API}/dev/sim-subscribers", json=sim).status_code == 201
    response = api.post(f"{API}/registrations", json={"subject_type": "citizen", "method": "sim",
                                                      "phone": person.phone})
    assert response.status_code == 201, response.text
    flow = response.json()
    deadline = time.monotonic() + 15
    while api.get(f"{API}/dev/sim/{person.phone}").status_code != 200:
        assert time.monotonic() < deadline, "the SIM prompt never reached the phone"
        time.sleep(0.1)
    approved = api.post(f"{API}/dev/sim/{person.phone}/approve", json={"pin": SIM_PIN})
    assert approved.status_code == 200, approved.text
    while api.get(f"{API}/registrations/{flow['id']}",
                  headers=flow_headers(flow)).json()["status"] == "awaiting_signature":
        assert time.monotonic() < deadline, "the SIM answer never reached the flow"
        time.sleep(0.1)


def _failed_attempts(api: httpx.Client) -> None:
    """Refusals log too: a phone nobody subscribes to, a lookup of the sandbox inbox."""
    person = new_citizen(year=1970)
    response = api.post(f"{API}/registrations", json=person.registration)
    assert response.status_code == 400, response.text
    api.get(f"{API}/dev/sms", params={"phone": person.phone})


def _findings(logs: dict[str, str], values: set[str],
              secrets: set[str]) -> list[dict[str, Any]]:
    found = []
    for name, text in logs.items():
        for match in ANY_PHONE.finditer(text):
            found.append({"log": name, "phone": match.group(0)})
        if name == OUTSIDE_WORLD_LOG:
            continue
        for secret in secrets:
            # As a token of its own: six digits inside a longer number are no leak.
            if re.search(rf"(?<![0-9A-Za-z_-]){re.escape(secret)}(?![0-9A-Za-z_-])", text):
                found.append({"log": name, "secret": secret})
        lowered = text.lower()
        for value in sorted(values):
            for form in _forms(value):
                at = lowered.find(form)
                if at >= 0:
                    line = text[text.rfind("\n", 0, at) + 1:text.find("\n", at)]
                    found.append({"log": name, "value": value, "line": line[:300]})
    return found


def test_no_log_holds_a_personal_value_the_tests_used(api: httpx.Client,
                                                     stack: DevStack) -> None:
    # The journeys this file needs on its own (run alone, the session made nothing else).
    citizen = new_citizen(sex="female", year=1999)
    register(api, citizen)
    secrets = {login(api, citizen)["session_token"]}
    secrets |= _bhxh_registration(api)
    _sim_registration(api)
    _failed_attempts(api)
    remember("Nguyễn Văn An", "Trần Thị Bình")
    time.sleep(1.0)  # the processes write their logs asynchronously

    logs = _logs(stack)
    assert {"registration.log", "gateway.log", "otp.log", "pki.log",
            "profile.log"} <= set(logs), sorted(logs)
    assert _findings(logs, set(PERSONAL_VALUES), secrets) == []
