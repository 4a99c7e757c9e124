"""The type of the document is part of an identity key."""

from __future__ import annotations

import pytest

from services.registration.domain.identity_keys import (
    event_identity_key,
    identity_key,
    personal_id_type,
)


def test_the_same_digits_of_two_documents_are_two_keys() -> None:
    assert identity_key("HC", "123456789") != identity_key("CMND", "123456789")
    assert identity_key(None, "123456789") == "CMND:123456789"


def test_a_12_digit_cmnd_is_the_cccd_that_kept_its_number() -> None:
    assert identity_key("CMND", "001090123456") == identity_key("CCCD", "001090123456") \
        == identity_key(None, "001090123456") == "CCCD:001090123456"


def test_enterprises_and_branches_are_their_own_keys() -> None:
    assert identity_key("MST", "0100109106") == "MST:0100109106"
    assert identity_key("MST", "0100109106-001") != identity_key("MST", "0100109106")
    assert event_identity_key("enterprise", None, "0100109106") == "MST:0100109106"
    assert event_identity_key("citizen", None, "001090123456") == "CCCD:001090123456"


@pytest.mark.parametrize("number", ["12345678", "B1234567", "0100109106", ""])
def test_a_typed_in_number_is_only_a_cmnd_or_a_cccd(number: str) -> None:
    with pytest.raises(ValueError):
        personal_id_type(number)


def test_an_unknown_type_has_no_key() -> None:
    with pytest.raises(ValueError):
        identity_key("XYZ", "123456789")
