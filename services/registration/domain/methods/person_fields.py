"""Field readers shared by the methods that ask a person for their identity (mobile, BHXH,
the counter): each reads one field of the request (its contract has checked type and bounds),
records a Vietnamese problem on ``errors`` and returns the normalised value, or None when it
is missing or refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.registration.domain.email_address import normalize_email
from services.registration.domain.fields import FieldErrors, optional_text
from services.registration.domain.identity import (
    Identity,
    Sex,
    birth_date_problem,
    name_problem,
    normalize_name,
    validate_id_number,
)
from services.registration.domain.phone import normalize_mobile
from shared.contracts.registration import DeclaredCitizen
from shared.events.schemas import SubjectType


@dataclass(frozen=True)
class Citizen:
    """Who a citizen's form declares, checked: the identity, the phone (E.164), the e-mail."""

    identity: Identity
    phone: str
    email: str | None


@dataclass(frozen=True)
class DeclaredFields:
    """The fields of a citizen's form (mobile, counter) as read, each None when refused."""

    raw_id: str | None
    full_name: str | None
    birth_date: date | None
    sex: Sex | None
    raw_phone: str | None
    email: str | None

    def checked(self) -> Citizen:
        """Once no field problem is left: the ID number against birth date and sex
        (``invalid_id_number``), then the phone (``invalid_phone``)."""
        assert self.raw_id and self.full_name and self.birth_date and self.sex and self.raw_phone
        id_number = validate_id_number(self.raw_id, self.birth_date, self.sex)
        return Citizen(Identity(id_number=id_number, full_name=self.full_name,
                                birth_date=self.birth_date, sex=self.sex),
                       normalize_mobile(self.raw_phone), self.email)


def declared_citizen(errors: FieldErrors, request: DeclaredCitizen, today: date) -> DeclaredFields:
    """Reads every field of a citizen's form, recording each problem on ``errors``."""
    return DeclaredFields(
        raw_id=errors.required_text(request.id_number, "id_number", "số CCCD/CMND"),
        full_name=full_name(errors, request.full_name),
        birth_date=birth_date(errors, request.birth_date, today),
        sex=sex(errors, request.sex),
        raw_phone=errors.required_text(request.phone, "phone", "số điện thoại"),
        email=email(errors, request.email),
    )


def citizen_only(errors: FieldErrors, subject_type: SubjectType, method_label: str) -> None:
    if subject_type != "citizen":
        errors.add("subject_type", f"Đăng ký bằng {method_label} chỉ dành cho Công dân."
                   if subject_type == "enterprise"
                   else "Vui lòng chọn đối tượng đăng ký: Công dân.")


def full_name(errors: FieldErrors, value: str | None) -> str | None:
    raw = errors.required_text(value, "full_name", "họ và tên")
    if raw is None:
        return None
    name = normalize_name(raw)
    problem = name_problem(name)
    if problem:
        errors.add("full_name", problem)
        return None
    return name


def birth_date(errors: FieldErrors, born: date | None, today: date) -> date | None:
    """``born``: a real calendar day (the contract reads only ``YYYY-MM-DD`` days)."""
    if born is None:
        errors.add("birth_date", "Vui lòng nhập ngày sinh.")
        return None
    problem = birth_date_problem(born, today)
    if problem:
        errors.add("birth_date", problem)
        return None
    return born


def sex(errors: FieldErrors, value: Sex | None) -> Sex | None:
    if value is None:
        errors.add("sex", "Vui lòng chọn giới tính: male (nam) hoặc female (nữ).")
    return value


def email(errors: FieldErrors, value: str | None) -> str | None:
    raw = optional_text(value)
    if raw is None:
        return None
    address = normalize_email(raw)
    if address is None:
        errors.add("email", "Địa chỉ email không hợp lệ, ví dụ đúng: ten@example.vn.")
    return address
