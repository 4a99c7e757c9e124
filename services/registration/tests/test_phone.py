"""Vietnamese mobile numbers, with property-based tests over the numbering plan."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.registration.domain.errors import InvalidPhone
from services.registration.domain.phone import national_digits, normalize_mobile
from shared.phones import mask_phone

# Mobile prefixes of the Vietnamese numbering plan (Viettel, VinaPhone, MobiFone, Vietnamobile,
# Gmobile, Reddi, Itelecom) after the 2018 move from 11 to 10 digits.
MOBILE_PREFIXES = ["32", "33", "34", "35", "36", "37", "38", "39", "52", "56", "58", "59",
                   "70", "76", "77", "78", "79", "81", "82", "83", "84", "85", "86", "88",
                   "89", "90", "91", "92", "93", "94", "96", "97", "98", "99"]

national_numbers = st.tuples(
    st.sampled_from(MOBILE_PREFIXES),
    st.integers(min_value=0, max_value=9_999_999).map(lambda n: f"{n:07d}"),
).map("".join)


def _spaced(digits: str) -> str:
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


@given(national_numbers, st.sampled_from(["0{}", "+84{}", "84{}", "+84 {}", "(+84) {}", "0{}"]),
       st.booleans())
def test_every_usual_form_of_a_mobile_number_gives_one_e164(national: str, form: str,
                                                            spaced: bool) -> None:
    try:
        expected = normalize_mobile("+84" + national)
    except InvalidPhone:
        return  # a block of the plan libphonenumber does not (yet) assign: refused everywhere
    typed = form.format(_spaced(national) if spaced else national)
    assert normalize_mobile(typed) == expected == "+84" + national
    assert national_digits(expected) == national


@given(st.text(max_size=25))
def test_any_input_is_either_a_vietnamese_mobile_or_invalid_phone(raw: str) -> None:
    try:
        e164 = normalize_mobile(raw)
    except InvalidPhone as exc:
        assert exc.code == "invalid_phone" and exc.detail
    else:
        assert e164.startswith("+84") and e164[1:].isdigit() and len(e164) == 12


@given(national_numbers)
def test_the_mask_keeps_only_the_operator_prefix_and_last_three_digits(national: str) -> None:
    masked = mask_phone("+84" + national)
    assert masked == f"+84{national[:2]}****{national[-3:]}"
    assert national[2:6] not in masked[5:9]


@pytest.mark.parametrize(("raw", "reason"), [
    ("024 3812 3456", "di động"),       # Hà Nội landline
    ("+1 415 555 2671", "Việt Nam"),    # not Vietnamese
    ("+855 12 345 678", "Việt Nam"),    # Cambodian mobile
    ("091234567", "kế hoạch đánh số"),  # one digit short
    ("09123456789", "kế hoạch đánh số"),
    ("số điện thoại", "định dạng"),
])
def test_numbers_that_are_not_vietnamese_mobiles_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhone) as err:
        normalize_mobile(raw)
    assert reason in err.value.detail
    assert err.value.to_error()["fields"][0]["name"] == "phone"


def test_examples_of_the_api() -> None:
    assert normalize_mobile("0912345678") == "+84912345678"
    assert mask_phone("+84912345678") == "+8491****678"
