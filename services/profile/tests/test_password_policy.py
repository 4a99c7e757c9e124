"""The password rule (one owner: profile; registration asks ``stage_credential``): every
requirement, each reported, all at once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.profile.domain.password_policy import RULES, phone_forms, problems, unmet_rules
from shared.wordlists import common_passwords

ID_NUMBER = "001090012345"
PHONE = "+84912345678"


def broken(password: str) -> list[str]:
    return unmet_rules(password, id_number=ID_NUMBER, phones=[PHONE])


@pytest.mark.parametrize("password", ["Tr@ng-Sen-2026!", "Ăn quả nhớ kẻ trồng cây 1!", "aB3$efgh"])
def test_good_passwords_pass(password: str) -> None:
    assert broken(password) == []


@pytest.mark.parametrize(("password", "rules"), [
    ("aB3$efg", ["min_length"]),
    ("aB3$" + "x" * 125, ["max_length"]),
    ("AB3$EFGH", ["lowercase"]),
    ("ab3$efgh", ["uppercase"]),
    ("aBc$efgh", ["digit"]),
    ("aB3defgh", ["special"]),
    ("aB3defgh ", ["special"]),  # a space is not a special character
    (f"Xx!{ID_NUMBER}", ["no_id_number"]),
    ("Xx!0912345678", ["no_phone"]),
    # The bare form: the registration copy of the rule let "Abc!84912345678" through while
    # profile's refused it (issue 16); one owner, one answer.
    ("Xx!84912345678", ["no_phone"]),
    ("Abc!912345678", ["no_phone"]),
    ("P@ssw0rd", ["not_common"]),
    ("mATKHAU@123", ["not_common"]),  # compared case-insensitively
    ("", ["min_length", "lowercase", "uppercase", "digit", "special"]),
    ("password", ["uppercase", "digit", "special", "not_common"]),
])
def test_each_rule(password: str, rules: list[str]) -> None:
    assert broken(password) == rules


def test_a_number_is_matched_in_its_national_and_bare_forms() -> None:
    assert phone_forms(PHONE) == ["0912345678", "912345678"]


def test_every_problem_has_a_vietnamese_requirement() -> None:
    found = problems("", id_number=None, phones=[])
    assert [rule for rule, _ in found] == ["min_length", "lowercase", "uppercase", "digit", "special"]
    assert all(phrase == RULES[rule] for rule, phrase in found)
    assert "ít nhất 8 ký tự" in RULES["min_length"]


def test_the_common_list_is_shipped_and_large() -> None:
    shipped = common_passwords()
    assert len(shipped) >= 1000
    for password in ("123456", "password", "qwerty", "iloveyou", "abc@123", "admin@123"):
        assert password in shipped


@given(st.text(max_size=140))
def test_rules_are_a_pure_function_of_the_password(password: str) -> None:
    rules = broken(password)
    assert rules == broken(password)
    assert set(rules) <= set(RULES)
    assert ("min_length" in rules) == (len(password) < 8)
