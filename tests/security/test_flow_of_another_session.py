"""Attack: finish a proof someone else started, to gain what it grants.

- A step-up raises the session that started it. Someone holding another session on the same
  account (a stolen cookie, a computer left logged in) waits for the owner to step up and sends
  the owner's code on the owner's step-up flow from their own session, hoping to be the one
  raised; or a stranger's session tries the same flow. The flow belongs to the session that
  started it: any other session is told ``not_found`` (404), nothing is spent, the owner can
  still finish it, and the other session stays unable to make a sensitive change.
- A counter flow belongs to the agent who started it: another agent can neither read it, nor
  push a new code to the citizen's phone, nor finish it (404 each time).
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from dvcid.devstack import DevStack
from tests.journeys import API, STRONG_PASSWORD, login, new_citizen, next_otp, register
from tests.security.test_counter_registers_anyone import new_agent, start
from tests.test_post_office_e2e import bearer

pytestmark = pytest.mark.e2e


def start_step_up(api: httpx.Client, session: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"{API}/me/reauthentication", headers=bearer(session),
                        json={"method": "password", "password": STRONG_PASSWORD})
    assert response.status_code == 201, response.text
    flow: dict[str, Any] = response.json()
    return flow


def sensitive_change(api: httpx.Client, session: dict[str, Any]) -> httpx.Response:
    return api.post(f"{API}/me/auth-methods", headers=bearer(session),
                    json={"type": "sms", "phone": f"098{random.randrange(10**7):07d}"})


def test_a_step_up_raises_only_the_session_that_started_it(api: httpx.Client) -> None:
    owner = new_citizen()
    register(api, owner)
    owners = login(api, owner)
    other_session_on_the_account = login(api, owner)
    stranger = new_citizen()
    register(api, stranger)
    strangers = login(api, stranger)

    flow = start_step_up(api, owners)
    code = next_otp(api, owner)  # the strongest case: the attacker knows the code too
    for intruder in (other_session_on_the_account, strangers):
        read = api.get(f"{API}/me/reauthentication/{flow['id']}", headers=bearer(intruder))
        assert read.status_code == 404, read.text
        taken = api.post(f"{API}/me/reauthentication/{flow['id']}/otp",
                         headers=bearer(intruder), json={"code": code})
        assert taken.status_code == 404, taken.text
        assert taken.json()["code"] == "not_found"
    # Not raised: the other session still cannot make a sensitive change.
    refused = sensitive_change(api, other_session_on_the_account)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "reauthentication_required"
    # Nothing was spent: the owner finishes the step-up with the same code.
    done = api.post(f"{API}/me/reauthentication/{flow['id']}/otp", headers=bearer(owners),
                    json={"code": code})
    assert done.status_code == 200, done.text
    assert sensitive_change(api, owners).status_code == 201


def test_a_counter_flow_belongs_to_the_agent_who_started_it(
        api: httpx.Client, stack: DevStack) -> None:
    _, session = new_agent(stack, api)
    citizen = new_citizen()
    started = start(api, session, citizen)
    assert started.status_code == 201, started.text
    flow = started.json()
    code = next_otp(api, citizen)
    _, other = new_agent(stack, api)
    pushed = api.post(f"{API}/agent/registrations/{flow['id']}/otp/resend", headers=bearer(other))
    assert pushed.status_code == 404, pushed.text
    finished = api.post(f"{API}/agent/registrations/{flow['id']}/otp", headers=bearer(other),
                        json={"code": code})
    assert finished.status_code == 404, finished.text
    # The agent who started it still finishes it with the code the citizen read back.
    done = api.post(f"{API}/agent/registrations/{flow['id']}/otp", headers=bearer(session),
                    json={"code": code})
    assert done.status_code == 201, done.text
