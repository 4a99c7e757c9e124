"""The confirm step of the digital-signature methods (USB token, SIM)."""

from __future__ import annotations

from services.registration.domain.errors import EmailRequired
from services.registration.domain.fields import FieldErrors
from services.registration.domain.methods import person_fields
from shared.events.schemas import SubjectType


def confirmation_email(value: str | None, chosen: SubjectType) -> str | None:
    """The e-mail of the confirm step: optional for citizens, required for enterprises."""
    errors = FieldErrors()
    email = person_fields.email(errors, value)
    errors.raise_if_any()
    if email is None and chosen == "enterprise":
        raise EmailRequired()
    return email
