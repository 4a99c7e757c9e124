"""Typed identity keys in profile: the same digits of two documents are two accounts, and a
typed-in username only ever means a CMND/CCCD."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.profile.domain.credentials import StagedCredential
from services.profile.domain.errors import InvalidCredentials
from services.profile.domain.identity_keys import identity_key, login_name_key
from services.profile.tests.test_handlers import _HASH, PASSWORD, World, make_world
from shared.events import AccountCreated, new_event

NUMBER = "123456789"
AT = datetime(2026, 1, 1, tzinfo=UTC)


async def created(world: World, account_id: str, identity: dict[str, Any], *,
                  method: str = "mobile", password: bool = True,
                  subject_type: str = "citizen") -> None:
    if password:  # staged in profile, as registration does (issue 11)
        await world.store.credentials.add(StagedCredential(
            f"cred-{account_id}", f"reg-{account_id}", _HASH, AT, AT + timedelta(days=7)))
    payload = AccountCreated(
        account_id=account_id, registration_id=f"reg-{account_id}",
        subject_type=subject_type,  # type: ignore[arg-type]
        method=method, level=2, identity=identity,  # type: ignore[arg-type]
        phone="+84912345567" if password else None,
        credential_id=f"cred-{account_id}" if password else None,
        created_at="2026-01-01T00:00:00+00:00",
        certificate=None if password else {"fingerprint_sha256": account_id * 4,
                                           "serial": "1", "issuer": "CN=CA"})
    await world.profile.accounts.on_account_created(new_event(payload, correlation_id=account_id))


def test_keys_carry_the_type() -> None:
    assert identity_key("HC", NUMBER) == "HC:123456789" != identity_key("CMND", NUMBER)
    assert identity_key("CMND", "001090123456") == identity_key("CCCD", "001090123456")
    assert login_name_key(NUMBER) == "CMND:123456789"
    assert login_name_key("001090123456") == "CCCD:001090123456"
    assert login_name_key("B1234567") is None and login_name_key("0101234567-001") is None


async def test_a_passport_and_a_cmnd_of_the_same_digits_are_two_accounts() -> None:
    world = make_world()
    await created(world, "passport", {"id_type": "HC", "id_number": NUMBER,
                                      "full_name": "Phạm Thị Dung"},
                  method="usb", password=False)
    await created(world, "cmnd", {"id_number": NUMBER, "full_name": "Lê Văn Cường"})
    accounts = world.store.accounts.rows
    assert accounts["passport"].index_key == "HC:123456789"
    assert accounts["passport"].username is None  # a passport number is no login name
    assert accounts["cmnd"].index_key == "CMND:123456789"
    assert accounts["cmnd"].username == NUMBER
    # The number typed at the password login is the CMND holder's.
    found = await world.store.accounts.find_by_login_name(NUMBER)
    assert found is not None and found.account_id == "cmnd"


async def test_a_typed_in_number_never_finds_a_passport_account() -> None:
    world = make_world()
    await created(world, "passport", {"id_type": "HC", "id_number": NUMBER,
                                      "full_name": "Phạm Thị Dung"},
                  method="usb", password=False)
    assert await world.store.accounts.find_by_login_name(NUMBER) is None
    assert await world.store.accounts.find_by_login_name("HC:123456789") is None
    with pytest.raises(InvalidCredentials):
        await world.call("login_start", {"method": "password", "username": NUMBER,
                                         "password": PASSWORD})


async def test_an_enterprise_key_is_its_tax_code_with_its_type() -> None:
    world = make_world()
    await created(world, "ent", {"id_number": "0101234567", "full_name": "Công ty",
                                 "tax_code": "0101234567"},
                  method="usb", password=False, subject_type="enterprise")
    account = world.store.accounts.rows["ent"]
    assert account.index_key == "MST:0101234567" and account.username is None
