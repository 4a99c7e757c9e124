"""Registration by mobile subscriber number (thuê bao di động): citizens only, level 2.

The person enters their ID number, full name, birth date, sex, phone and optionally an
e-mail. The phone must be registered to this very person at the carrier (chính chủ): the
telco subscriber registry's record must carry the same ID number, birth date and name. Then an
OTP to that phone proves possession, and a password makes the account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from services.registration.domain.errors import SubscriberMismatch
from services.registration.domain.fields import FieldErrors
from services.registration.domain.identity import Identity, name_key, validate_id_number
from services.registration.domain.methods import person_fields as person
from services.registration.domain.model import MOBILE_LEVEL, Subscriber
from services.registration.domain.phone import normalize_mobile

METHOD = "mobile"
LEVEL = MOBILE_LEVEL
# A subscriber record in any other state cannot vouch for its holder.
ACTIVE_SUBSCRIBER_STATUS = "active"


@dataclass(frozen=True)
class MobileApplication:
    subject_type: Literal["citizen"]
    identity: Identity
    phone: str  # E.164
    email: str | None


def parse_application(payload: Mapping[str, Any], today: date) -> MobileApplication:
    """Validates the fields of a mobile registration.

    Shape problems (missing, wrong type, bad name, date, sex or e-mail) are all reported
    together as ``validation_error``; then the ID number (``invalid_id_number``, which needs a
    valid birth date and sex to be checked) and the phone (``invalid_phone``).
    """
    errors = FieldErrors()
    person.citizen_only(errors, payload, "thuê bao di động")
    raw_id = errors.required_text(payload, "id_number", "số CCCD/CMND")
    full_name = person.full_name(errors, payload)
    birth_date = person.birth_date(errors, payload, today)
    sex = person.sex(errors, payload)
    raw_phone = errors.required_text(payload, "phone", "số điện thoại")
    email = person.email(errors, payload)
    errors.raise_if_any()
    assert raw_id and full_name and birth_date and sex and raw_phone

    id_number = validate_id_number(raw_id, birth_date, sex)
    phone = normalize_mobile(raw_phone)
    return MobileApplication(
        subject_type="citizen",
        identity=Identity(id_number=id_number, full_name=full_name, birth_date=birth_date, sex=sex),
        phone=phone,
        email=email,
    )


def check_subscriber(application: MobileApplication, subscriber: Subscriber | None) -> None:
    """The phone must be registered to this person (chính chủ), or the registration stops."""
    if subscriber is None:
        raise SubscriberMismatch(
            "Số điện thoại này không có trong cơ sở dữ liệu thuê bao của nhà mạng. Vui lòng "
            "kiểm tra lại số, hoặc đến cửa hàng của nhà mạng để đăng ký thông tin thuê bao "
            "chính chủ rồi đăng ký lại."
        )
    identity = application.identity
    matches = (
        subscriber.status.casefold() == ACTIVE_SUBSCRIBER_STATUS
        and subscriber.id_number == identity.id_number
        and subscriber.birth_date == identity.birth_date
        and name_key(subscriber.full_name) == name_key(identity.full_name)
    )
    if not matches:
        # Which field differs is not said: that would let anyone probe whose number it is.
        raise SubscriberMismatch()

