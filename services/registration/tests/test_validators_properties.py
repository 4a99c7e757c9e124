"""Property-based tests (hypothesis) of the validators not covered elsewhere: MST (tax code),
e-mail, BHXH code and full names. CCCD/CMND and phones have theirs in test_identity.py and
test_phone.py; the password rule is profile's (services/profile/tests)."""

from __future__ import annotations

import unicodedata
from typing import Literal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.vn import mst

from services.registration.domain.email_address import normalize_email
from services.registration.domain.errors import InvalidTaxCode
from services.registration.domain.identity import name_key, name_problem, normalize_name
from services.registration.domain.methods.bhxh import normalize_bhxh_code
from services.registration.domain.tax_code import normalize_tax_code

NormalForm = Literal["NFC", "NFD"]
WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def check_digit(first_nine: str) -> int:
    """FLOWS.md's rule, written out independently of the library."""
    return 10 - sum(int(d) * w for d, w in zip(first_nine, WEIGHTS, strict=True)) % 11


# --- MST --------------------------------------------------------------------------------------

first_nines = st.from_regex(r"\A[0-9]{9}\Z").filter(lambda s: s[2:9] != "0000000")


@given(first_nines)
def test_a_tax_code_with_the_right_check_digit_is_accepted(first_nine: str) -> None:
    digit = check_digit(first_nine)
    assume(digit < 10)  # a remainder of 0 gives no digit: such codes are never issued
    assert normalize_tax_code(f"{first_nine}{digit}") == f"{first_nine}{digit}"


@given(first_nines, st.integers(0, 9))
def test_any_other_tenth_digit_is_refused(first_nine: str, tenth: int) -> None:
    assume(tenth != check_digit(first_nine))
    with pytest.raises(InvalidTaxCode) as err:
        normalize_tax_code(f"{first_nine}{tenth}")
    assert err.value.to_error()["code"] == "invalid_tax_code"


@given(first_nines, st.integers(1, 999), st.sampled_from(["{}-{}", "{}{}", "{} - {}"]))
def test_a_branch_code_comes_back_as_nnnnnnnnnn_nnn(first_nine: str, branch: int,
                                                    form: str) -> None:
    digit = check_digit(first_nine)
    assume(digit < 10)
    parent = f"{first_nine}{digit}"
    assert normalize_tax_code(form.format(parent, f"{branch:03d}")) == f"{parent}-{branch:03d}"


@given(st.text(max_size=20))
def test_any_input_is_a_canonical_valid_mst_or_invalid_tax_code(raw: str) -> None:
    try:
        code = normalize_tax_code(raw)
    except InvalidTaxCode as err:
        assert err.detail and err.to_error()["fields"][0]["name"] == "tax_code"
        return
    assert mst.is_valid(code)
    assert len(code) == 10 or (len(code) == 14 and code[10] == "-")


@pytest.mark.parametrize(("raw", "expected"), [
    ("0100109106", "0100109106"), ("0100109106-506", "0100109106-506"),
    ("0100109106506", "0100109106-506"), ("0314409058-002", "0314409058-002"),
])
def test_known_tax_codes(raw: str, expected: str) -> None:
    assert normalize_tax_code(raw) == expected


@pytest.mark.parametrize(("raw", "reason"), [
    ("0100109107", "kiểm tra"), ("0100109106-000", "chi nhánh"), ("010010910-6", "10 chữ số"),
    ("01001091", "10 chữ số"), ("O100109106", "10 chữ số"), ("０１００１０９１０６", "10 chữ số"),
])
def test_bad_tax_codes_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidTaxCode) as err:
        normalize_tax_code(raw)
    assert reason in err.value.detail


# --- e-mail -----------------------------------------------------------------------------------

@given(st.emails())
def test_every_generated_address_is_accepted_and_normalising_is_idempotent(address: str) -> None:
    normalized = normalize_email(address)
    assume(normalized is not None)  # hypothesis may generate reserved or over-long domains
    assert normalized is not None
    assert normalize_email(normalized) == normalized
    assert "@" in normalized


@given(st.text(max_size=60))
def test_any_text_is_an_address_or_none_never_an_exception(raw: str) -> None:
    normalized = normalize_email(raw)
    if normalized is not None:
        local, _, domain = normalized.rpartition("@")
        assert local and "." in domain


@pytest.mark.parametrize("raw", ["", "an", "an@", "@vn.vn", "an@@x.vn", "an nguyen@x.vn", "an@x"])
def test_broken_addresses_are_refused(raw: str) -> None:
    assert normalize_email(raw) is None


def test_the_domain_is_lowercased() -> None:
    assert normalize_email("An.Nguyen@Example.VN") == "An.Nguyen@example.vn"


# --- BHXH code ---------------------------------------------------------------------------------

@given(st.from_regex(r"\A[0-9]{10}\Z"))
def test_every_ten_digit_code_is_a_bhxh_code(code: str) -> None:
    assert normalize_bhxh_code(code) == code


@given(st.text(max_size=14))
def test_anything_else_is_not_a_bhxh_code(raw: str) -> None:
    code = normalize_bhxh_code(raw)
    if code is not None:
        assert len(code) == 10 and code.isascii() and code.isdigit()


# --- full names -------------------------------------------------------------------------------

VIETNAMESE_LETTERS = ("aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộ"
                      "ớờởỡợúùủũụứừửữựýỳỷỹỵ")
words = st.text(alphabet=VIETNAMESE_LETTERS + VIETNAMESE_LETTERS.upper(), min_size=1, max_size=8)
names = st.lists(words, min_size=2, max_size=5).map(" ".join)


@given(names)
def test_vietnamese_names_are_accepted_in_any_unicode_form(name: str) -> None:
    for form in ("NFC", "NFD"):
        normalized = normalize_name(unicodedata.normalize(form, name))
        assert name_problem(normalized) is None
        assert normalized == unicodedata.normalize("NFC", name)


@given(names, st.sampled_from(["NFC", "NFD"]), st.booleans())
def test_the_comparison_key_ignores_form_case_and_spacing(name: str, form: NormalForm,
                                                          upper: bool) -> None:
    typed = unicodedata.normalize(form, name.upper() if upper else name).replace(" ", "   ")
    assert name_key(typed) == name_key(name)


@given(names)
def test_stripping_diacritics_changes_the_key(name: str) -> None:
    stripped = "".join(c for c in unicodedata.normalize("NFD", name)
                       if unicodedata.category(c) != "Mn").replace("đ", "d").replace("Đ", "D")
    assume(stripped != unicodedata.normalize("NFC", name))
    assert name_key(stripped) != name_key(name)


@given(st.text(max_size=120))
def test_any_text_is_an_acceptable_name_or_a_vietnamese_reason(raw: str) -> None:
    problem = name_problem(normalize_name(raw))
    assert problem is None or problem.startswith("Họ và tên")
