"""Attack on "Gửi lại OTP" of a forgotten password (issue 17 added the resend), by a stranger
who guesses usernames: a resend that answers differently for a name with no account (404,
another shape, no wait) tells which names have accounts. A decoy reset answers every resend
as the otp service answers a real one."""

from __future__ import annotations

import httpx

from tests.journeys import API, client_ip, flow_headers, login, new_citizen, register


def test_password_reset_resend_enumeration_gets_one_answer(api: httpx.Client) -> None:
    citizen = new_citizen()
    register(api, citizen)
    login(api, citizen)
    answers = []
    for name, address in ((citizen.id_number, "resend-enum-a"),
                          (new_citizen().id_number, "resend-enum-b")):
        started = api.post(f"{API}/password-resets", json={"username": name},
                           headers=client_ip(address))
        assert started.status_code == 201, started.text
        reset = started.json()
        # At once: too soon, for the account's name and for a name nobody has.
        answers.append(api.post(f"{API}/password-resets/{reset['id']}/otp/resend",
                                headers=flow_headers(reset) | client_ip(address)))
    real, decoy = answers
    assert real.status_code == 429 and real.json()["code"] == "otp_resend_too_soon", real.text
    assert (decoy.status_code, decoy.json()["code"], set(decoy.json())) == \
        (real.status_code, real.json()["code"], set(real.json())), decoy.text
    assert 55 <= int(decoy.headers["Retry-After"]) <= 60
