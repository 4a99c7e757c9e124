"""Attack: the lost-phone code swap. Someone who knows only the password asks for the
lost-phone code on their own SIM, then names the victim's own number (the send is refused as
too soon), and enters the first code: the carrier check would then run on the victim's number
and pass. A code is bound to the number it was sent to, and the flow changes only after a
successful send."""

from __future__ import annotations

import httpx

from tests.journeys import (
    API,
    STRONG_PASSWORD,
    add_subscriber,
    flow_headers,
    new_citizen,
    next_otp,
    register,
    start_login,
)


def test_lost_phone_code_swap_opens_no_session(api: httpx.Client) -> None:
    victim = new_citizen()
    register(api, victim)
    attacker = new_citizen()
    add_subscriber(api, attacker)  # the attacker's own SIM, registered to the attacker
    response = start_login(api, victim.id_number, STRONG_PASSWORD)  # the password is known
    assert response.status_code == 201, response.text
    flow = response.json()
    next_otp(api, victim)  # the code to the victim's phone, which the attacker never sees
    url = f"{API}/logins/{flow['id']}"

    response = api.post(f"{url}/lost-phone", headers=flow_headers(flow),
                        json={"phone": attacker.phone})
    assert response.status_code == 200, response.text
    attackers_code = next_otp(api, attacker)
    # The victim's own number: the send is refused as too soon...
    response = api.post(f"{url}/lost-phone", headers=flow_headers(flow),
                        json={"phone": victim.phone})
    assert response.status_code == 429, response.text
    # ...and the code sent to the attacker's SIM must not open the victim's account.
    response = api.post(f"{url}/otp", headers=flow_headers(flow), json={"code": attackers_code})
    assert response.status_code != 200, response.text
    assert "session_token" not in response.json()
    # The account's OTP phone did not change either: the next login still goes to the victim.
    response = start_login(api, victim.id_number, STRONG_PASSWORD)
    assert response.status_code == 201, response.text
    assert next_otp(api, victim)
