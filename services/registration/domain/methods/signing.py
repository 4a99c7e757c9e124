"""Field readers shared by the digital-signature methods (USB token, SIM) and the confirm step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.registration.domain.errors import EmailRequired
from services.registration.domain.fields import FieldErrors
from services.registration.domain.methods import person_fields
from shared.events.schemas import SubjectType


def subject_type(errors: FieldErrors, payload: Mapping[str, Any]) -> SubjectType | None:
    chosen = payload.get("subject_type")
    if chosen == "citizen":
        return "citizen"
    if chosen == "enterprise":
        return "enterprise"
    errors.add("subject_type", "Vui lòng chọn đối tượng đăng ký: Công dân hoặc Doanh nghiệp.")
    return None


def confirmation_email(payload: Mapping[str, Any], chosen: SubjectType) -> str | None:
    """The e-mail of the confirm step: optional for citizens, required for enterprises."""
    errors = FieldErrors()
    email = person_fields.email(errors, payload)
    errors.raise_if_any()
    if email is None and chosen == "enterprise":
        raise EmailRequired()
    return email
