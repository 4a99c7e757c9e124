"""Who a person says they are: ID number (CCCD/CMND), full name, birth date, sex.

The checks are real rather than "looks like digits": a CCCD number encodes the province of
birth registration, the century and sex, and the last two digits of the birth year, and all of
them must agree with what the person entered.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from services.registration.domain.errors import InvalidIdNumber
from services.registration.domain.identity_keys import identity_key, personal_id_type
from services.registration.domain.provinces import PROVINCE_CODES

Sex = Literal["male", "female"]
SEX_LABEL: dict[str, str] = {"male": "nam", "female": "nữ"}

# A person may register from the age at which they hold their own CCCD and may use online
# public services on their own: the portal accepts minors from 14. Older than this is not a
# person any more but a typo.
MIN_AGE_YEARS = 14
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

NAME_MIN_LENGTH = 2
NAME_MAX_LENGTH = 100

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Identity:
    id_number: str
    full_name: str
    birth_date: date
    sex: Sex

    @property
    def id_type(self) -> str:
        """CMND (9 digits) or CCCD (12): the numbers these methods accept."""
        return personal_id_type(self.id_number)

    @property
    def key(self) -> str:
        return identity_key(self.id_type, self.id_number)

    def as_dict(self) -> dict[str, str]:
        return {"id_number": self.id_number, "full_name": self.full_name,
                "birth_date": self.birth_date.isoformat(), "sex": self.sex}


# --- ID number -------------------------------------------------------------------------------

def normalize_id_number(raw: str) -> str:
    """Spaces and dots people type between groups are not part of the number."""
    return re.sub(r"[\s.]", "", raw)


def validate_id_number(raw: str, birth_date: date, sex: Sex | None) -> str:
    """Returns the normalised number or raises InvalidIdNumber with the precise reason.

    ``sex`` None (a method that does not ask for it, e.g. BHXH) checks the province, century
    and birth-year digits only."""
    number = normalize_id_number(raw)
    if not number.isascii() or not number.isdigit():
        raise InvalidIdNumber("Số CCCD/CMND chỉ gồm các chữ số.")
    if len(number) == 9:
        # Old 9-digit CMND: its digits carry no checkable structure.
        return number
    if len(number) == 12:
        # 12-digit CMND numbers were issued on the CCCD scheme: same rules.
        check_cccd(number, birth_date, sex)
        return number
    raise InvalidIdNumber(
        f"Số CCCD phải gồm 12 chữ số (CMND cũ: 9 chữ số); số đã nhập có {len(number)} chữ số."
    )


def cccd_century_digit(birth_year: int, sex: Sex) -> int:
    """0/1 = 1900s male/female, 2/3 = 2000s, 4/5 = 2100s, 6/7 = 2200s, 8/9 = 2300s."""
    return (birth_year // 100 - 19) * 2 + (0 if sex == "male" else 1)


def check_cccd(number: str, birth_date: date, sex: Sex | None) -> None:
    province = number[:3]
    if province not in PROVINCE_CODES:
        raise InvalidIdNumber(
            f"3 chữ số đầu của số CCCD ({province}) không phải mã tỉnh, thành phố nào; "
            "vui lòng kiểm tra lại số trên thẻ."
        )
    century_digit = int(number[3])
    encoded_sex: Sex = "male" if century_digit % 2 == 0 else "female"
    encoded_century = 1900 + (century_digit // 2) * 100
    if sex is not None and encoded_sex != sex:
        raise InvalidIdNumber(
            f"Chữ số thứ 4 của số CCCD ({century_digit}) ứng với giới tính "
            f"{SEX_LABEL[encoded_sex]}, không khớp với giới tính đã khai ({SEX_LABEL[sex]})."
        )
    if encoded_century != birth_date.year // 100 * 100:
        raise InvalidIdNumber(
            f"Chữ số thứ 4 của số CCCD ({century_digit}) ứng với người sinh trong các năm "
            f"{encoded_century}–{encoded_century + 99}, không khớp với năm sinh đã khai "
            f"({birth_date.year})."
        )
    year_digits = number[4:6]
    if int(year_digits) != birth_date.year % 100:
        raise InvalidIdNumber(
            f"Chữ số thứ 5 và 6 của số CCCD ({year_digits}) phải là 2 số cuối của năm sinh; "
            f"năm sinh đã khai là {birth_date.year}."
        )


# --- full name -------------------------------------------------------------------------------

def normalize_name(raw: str) -> str:
    """NFC (one code point per Vietnamese letter, however it was typed), single spaces, one
    kind of apostrophe."""
    return " ".join(unicodedata.normalize("NFC", raw).replace("\u2019", "'").split())


def name_key(raw: str) -> str:
    """For comparing names from two sources: case and spacing ignored, diacritics never."""
    return unicodedata.normalize("NFC", normalize_name(raw).casefold())


def _is_name_character(char: str) -> bool:
    if char == " ":
        return True
    category = unicodedata.category(char)
    if category == "Mn":  # a combining mark NFC could not fold into its letter
        return True
    # Latin script only: Vietnamese names, ethnic-minority names included, are written in it.
    return category.startswith("L") and "LATIN" in unicodedata.name(char, "")


# Names of the Ê Đê, Gia Rai and other Central Highlands peoples carry an apostrophe inside a
# word (H'Hen Niê, Y'Moan): letters and spaces alone would refuse real citizens.
_MISPLACED_APOSTROPHE = re.compile(r"(^|[^\w])'|'($|[^\w])")


def name_problem(name: str) -> str | None:
    """The Vietnamese reason a normalised name is refused, or None when it is acceptable."""
    if len(name) < NAME_MIN_LENGTH:
        return f"Họ và tên phải có ít nhất {NAME_MIN_LENGTH} ký tự."
    if len(name) > NAME_MAX_LENGTH:
        return f"Họ và tên không được dài quá {NAME_MAX_LENGTH} ký tự."
    if not all(_is_name_character(c) or c == "'" for c in name) or _MISPLACED_APOSTROPHE.search(name):
        return "Họ và tên chỉ gồm chữ cái (có dấu tiếng Việt), dấu cách và dấu nháy trong tên."
    return None


# --- birth date ------------------------------------------------------------------------------

def parse_iso_date(raw: str) -> date | None:
    """Strictly YYYY-MM-DD and a real calendar day (fromisoformat alone accepts more forms)."""
    if not _ISO_DATE.match(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def anniversary(day: date, years: int) -> date:
    """The date ``years`` after ``day``; 29 February falls on the 28th in a common year (a
    period ending on a day the month lacks ends on the month's last day)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def birth_date_problem(birth_date: date, today: date) -> str | None:
    if birth_date >= today:
        return "Ngày sinh phải là một ngày trong quá khứ."
    if birth_date < EARLIEST_BIRTH_DATE:
        return "Ngày sinh không thể trước năm 1900; vui lòng kiểm tra lại."
    if today < anniversary(birth_date, MIN_AGE_YEARS):
        return f"Bạn cần đủ {MIN_AGE_YEARS} tuổi trở lên để tự đăng ký tài khoản."
    return None
