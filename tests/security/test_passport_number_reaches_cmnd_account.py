"""Attack: one number, two documents. A passport (``UID=HC:123456789``) and an old CMND
(``123456789``) carry the same digits but name two different people. The passport's
certificate must neither log in to the CMND holder's account nor be refused registration
because the CMND holder already has one (and the other way round)."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from tests.journeys import Citizen, login, register, remember
from tests.security.certificates import (
    issue,
    me,
    methods_of,
    new_cmnd,
    post,
    register_usb,
    usb_login,
    usb_registration_signature,
    usb_session,
)

pytestmark = pytest.mark.e2e


def cmnd_citizen() -> Citizen:
    """A person who registers with an old 9-digit CMND by the mobile method."""
    phone = f"091{random.randrange(10**7):07d}"
    remember(phone, "Lê Văn Cường", "1985-03-02")
    return Citizen(new_cmnd(), "Lê Văn Cường", "1985-03-02", "male", phone)


def test_passport_certificate_does_not_reach_the_cmnd_account(api: httpx.Client) -> None:
    holder = cmnd_citizen()
    cmnd_account = register(api, holder)["account_id"]
    cmnd_session = login(api, holder)["session_token"]  # the account exists by now

    passport = issue(api, id_kind="HC", id_number=holder.id_number,
                     full_name="Phạm Thị Dung")
    flow, response = usb_login(api, passport)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "certificate_not_registered"
    assert "dvcid_session" not in response.cookies
    # Nothing was bound to the CMND holder's account.
    assert methods_of(api, cmnd_session, "usb") == []

    # The passport holder is someone else: their own registration goes through.
    flow, response = usb_registration_signature(api, passport, "citizen")
    assert response.status_code == 200, response.text
    assert response.json()["identity"]["id_type"] == "HC"
    passport_account = register_usb_confirm(api, flow)
    assert passport_account != cmnd_account

    session = usb_session(api, passport)
    assert me(api, session)["account_id"] == passport_account
    # And the CMND holder's password login still reaches the CMND account.
    assert me(api, login(api, holder)["session_token"])["account_id"] == cmnd_account


def test_passport_account_first_does_not_block_the_cmnd_holder(api: httpx.Client) -> None:
    holder = cmnd_citizen()
    passport = issue(api, id_kind="HC", id_number=holder.id_number,
                     full_name="Phạm Thị Dung")
    passport_account = register_usb(api, passport, "citizen")["account_id"]
    assert me(api, usb_session(api, passport))["account_id"] == passport_account

    # Not account_exists: the passport's account is not the CMND holder's.
    cmnd_account = register(api, holder)["account_id"]
    account = me(api, login(api, holder)["session_token"])
    assert account["account_id"] == cmnd_account != passport_account
    assert account["identity"]["id_number"] == holder.id_number


def register_usb_confirm(api: httpx.Client, flow: dict[str, Any]) -> str:
    response = post(api, f"registrations/{flow['id']}/confirm", flow, {})
    assert response.status_code == 201, response.text
    account_id: str = response.json()["account_id"]
    return account_id
