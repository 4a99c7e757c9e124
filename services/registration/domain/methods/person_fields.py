"""Field readers shared by the methods that ask a person for their identity (mobile, BHXH):
each reads one field of the untrusted payload, records a Vietnamese problem on ``errors`` and
returns the normalised value, or None when it is missing or refused."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from services.registration.domain.email_address import normalize_email
from services.registration.domain.fields import FieldErrors
from services.registration.domain.identity import (
    Sex,
    birth_date_problem,
    name_problem,
    normalize_name,
    parse_iso_date,
)


def citizen_only(errors: FieldErrors, payload: Mapping[str, Any], method_label: str) -> None:
    subject_type = payload.get("subject_type")
    if subject_type != "citizen":
        errors.add("subject_type", f"Đăng ký bằng {method_label} chỉ dành cho Công dân."
                   if subject_type == "enterprise"
                   else "Vui lòng chọn đối tượng đăng ký: Công dân.")


def full_name(errors: FieldErrors, payload: Mapping[str, Any]) -> str | None:
    raw = errors.required_text(payload, "full_name", "họ và tên")
    if raw is None:
        return None
    name = normalize_name(raw)
    problem = name_problem(name)
    if problem:
        errors.add("full_name", problem)
        return None
    return name


def birth_date(errors: FieldErrors, payload: Mapping[str, Any], today: date) -> date | None:
    raw = errors.required_text(payload, "birth_date", "ngày sinh")
    if raw is None:
        return None
    born = parse_iso_date(raw)
    if born is None:
        errors.add("birth_date", "Ngày sinh phải là một ngày có thật, dạng YYYY-MM-DD.")
        return None
    problem = birth_date_problem(born, today)
    if problem:
        errors.add("birth_date", problem)
        return None
    return born


def sex(errors: FieldErrors, payload: Mapping[str, Any]) -> Sex | None:
    raw = payload.get("sex")
    if raw == "male":
        return "male"
    if raw == "female":
        return "female"
    errors.add("sex", "Vui lòng chọn giới tính: male (nam) hoặc female (nữ).")
    return None


def email(errors: FieldErrors, payload: Mapping[str, Any]) -> str | None:
    raw = errors.optional_text(payload, "email", "địa chỉ email")
    if raw is None:
        return None
    address = normalize_email(raw)
    if address is None:
        errors.add("email", "Địa chỉ email không hợp lệ, ví dụ đúng: ten@example.vn.")
    return address
