"""CCCD/CMND, names and birth dates, including property-based tests of the CCCD rules."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.registration.domain.errors import InvalidIdNumber
from services.registration.domain.identity import (
    Sex,
    birth_date_problem,
    cccd_century_digit,
    name_key,
    name_problem,
    normalize_name,
    parse_iso_date,
    validate_id_number,
)
from services.registration.domain.provinces import PROVINCE_CODES

provinces = st.sampled_from(sorted(PROVINCE_CODES))
sexes: st.SearchStrategy[Sex] = st.sampled_from(["male", "female"])
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2012, 1, 1))
serials = st.integers(min_value=0, max_value=999_999).map(lambda n: f"{n:06d}")


def cccd(province: str, birth: date, sex: Sex, serial: str = "123456") -> str:
    return f"{province}{cccd_century_digit(birth.year, sex)}{birth.year % 100:02d}{serial}"


@given(provinces, birth_dates, sexes, serials)
def test_every_well_formed_cccd_is_accepted(province: str, birth: date, sex: Sex,
                                             serial: str) -> None:
    number = cccd(province, birth, sex, serial)
    assert validate_id_number(number, birth, sex) == number
    # Groups typed with spaces or dots are the same number.
    spaced = f"{number[:3]} {number[3:6]}.{number[6:]}"
    assert validate_id_number(spaced, birth, sex) == number


@given(st.integers(min_value=0, max_value=999).map(lambda n: f"{n:03d}"), birth_dates, sexes)
def test_a_cccd_with_an_unknown_province_is_refused(province: str, birth: date, sex: Sex) -> None:
    assume(province not in PROVINCE_CODES)
    with pytest.raises(InvalidIdNumber) as err:
        validate_id_number(cccd(province, birth, sex), birth, sex)
    assert province in err.value.detail and "tỉnh" in err.value.detail


@given(provinces, birth_dates, sexes)
def test_a_cccd_of_the_other_sex_is_refused(province: str, birth: date, sex: Sex) -> None:
    other: Sex = "female" if sex == "male" else "male"
    with pytest.raises(InvalidIdNumber) as err:
        validate_id_number(cccd(province, birth, other), birth, sex)
    assert "giới tính" in err.value.detail


@given(provinces, birth_dates, birth_dates, sexes)
def test_a_cccd_of_another_birth_year_is_refused(province: str, birth: date, declared: date,
                                                 sex: Sex) -> None:
    assume(birth.year != declared.year)
    with pytest.raises(InvalidIdNumber) as err:
        validate_id_number(cccd(province, birth, sex), declared, sex)
    assert "năm sinh" in err.value.detail


@given(st.text(alphabet="0123456789 ", max_size=20))
def test_any_digit_string_is_either_accepted_or_refused_with_a_reason(raw: str) -> None:
    try:
        number = validate_id_number(raw, date(1990, 5, 17), "male")
    except InvalidIdNumber as exc:
        assert exc.detail and exc.code == "invalid_id_number"
    else:
        assert len(number) in (9, 12) and number.isdigit()


@pytest.mark.parametrize(("number", "sex", "born"), [
    ("001090012345", "male", date(1990, 5, 17)),
    ("079185000001", "female", date(1985, 1, 1)),
    ("048205000001", "male", date(2005, 12, 31)),
    ("096307000001", "female", date(2007, 2, 28)),
])
def test_known_good_cccd_numbers(number: str, sex: Sex, born: date) -> None:
    assert validate_id_number(number, born, sex) == number


@pytest.mark.parametrize(("number", "reason"), [
    ("003090012345", "003"),          # 003 was never a province code
    ("001190012345", "giới tính nữ"),  # female digit for a man
    ("001290012345", "2000–2099"),     # born in the 2000s
    ("001091012345", "(91)"),          # year digits 91 for 1990
    ("00109001234", "11 chữ số"),
    ("00109001234x", "chỉ gồm các chữ số"),
    ("٠٠١٠٩٠٠١٢٣٤٥", "chỉ gồm các chữ số"),  # Arabic-Indic digits are not ID digits
])
def test_cccd_errors_say_precisely_what_is_wrong(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber) as err:
        validate_id_number(number, date(1990, 5, 17), "male")
    assert reason in err.value.detail


def test_a_nine_digit_cmnd_is_accepted() -> None:
    assert validate_id_number("012 345 678", date(1970, 1, 1), "female") == "012345678"


def test_the_list_holds_the_63_provinces() -> None:
    assert len(PROVINCE_CODES) == 63
    assert PROVINCE_CODES["001"] == "Hà Nội" and PROVINCE_CODES["079"] == "Thành phố Hồ Chí Minh"
    assert all(len(code) == 3 and code.isdigit() and "001" <= code <= "096" for code in PROVINCE_CODES)


# --- names ---------------------------------------------------------------------------------

def test_names_are_nfc_with_single_spaces() -> None:
    typed = unicodedata.normalize("NFD", "  Trần\tThị   Ngọc  Ánh ")
    name = normalize_name(typed)
    assert name == "Trần Thị Ngọc Ánh" and unicodedata.is_normalized("NFC", name)


@pytest.mark.parametrize("name", ["Lê Ạ", "Đặng Thị Hương", "Hà Văn Quý", "H'Hen Niê", "Y’Moan Ênuôl",
                                  "Y Blông", "Nguyễn Ngọc Bảo Châu"])
def test_vietnamese_names_are_accepted(name: str) -> None:
    assert name_problem(normalize_name(name)) is None


@pytest.mark.parametrize(("name", "reason"), [
    ("A", "ít nhất 2"),
    ("A" * 101, "quá 100"),
    ("Nguyễn Văn 3", "chữ cái"),
    ("Nguyễn-Văn", "chữ cái"),
    ("王小明", "chữ cái"),
    ("Nguyễn <b>", "chữ cái"),
    ("'Nguyễn", "dấu nháy"),
    ("Nguyễn ' An", "dấu nháy"),
])
def test_bad_names_are_refused(name: str, reason: str) -> None:
    problem = name_problem(normalize_name(name))
    assert problem is not None and reason in problem


def test_name_comparison_ignores_case_and_spacing_but_never_diacritics() -> None:
    assert name_key("NGUYỄN  VĂN AN") == name_key(unicodedata.normalize("NFD", "nguyễn văn an"))
    assert name_key("Nguyễn Văn An") != name_key("Nguyen Van An")
    assert name_key("Đỗ An") != name_key("Do An")


# --- birth dates ---------------------------------------------------------------------------

TODAY = date(2026, 1, 1)


@pytest.mark.parametrize("raw", ["1990-02-30", "17/05/1990", "19900517", "1990-5-17", "", "x"])
def test_birth_dates_must_be_real_iso_days(raw: str) -> None:
    assert parse_iso_date(raw) is None


@pytest.mark.parametrize(("born", "reason"), [
    (date(2026, 1, 1), "quá khứ"),
    (date(2030, 1, 1), "quá khứ"),
    (date(1899, 12, 31), "1900"),
    (date(2012, 1, 2), "14 tuổi"),
])
def test_implausible_birth_dates_are_refused(born: date, reason: str) -> None:
    problem = birth_date_problem(born, TODAY)
    assert problem is not None and reason in problem


@pytest.mark.parametrize("born", [date(2012, 1, 1), date(1900, 1, 1), date(1990, 5, 17)])
def test_plausible_birth_dates_are_accepted(born: date) -> None:
    assert birth_date_problem(born, TODAY) is None


def test_a_leap_day_birthday_comes_of_age_on_the_28th() -> None:
    assert birth_date_problem(date(2012, 2, 29), date(2026, 2, 28)) is None
    assert birth_date_problem(date(2012, 2, 29), date(2026, 2, 27)) is not None
