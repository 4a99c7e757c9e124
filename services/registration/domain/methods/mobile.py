"""Registration by mobile subscriber number (thuê bao di động): citizens only, level 2.

The person enters their ID number, full name, birth date, sex, phone and optionally an
e-mail. The phone must be registered to this very person at the carrier (chính chủ): the
telco subscriber registry's record must carry the same ID number, birth date and name. Then an
OTP to that phone proves possession, and a password makes the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from services.registration.domain.errors import SubscriberMismatch
from services.registration.domain.fields import FieldErrors
from services.registration.domain.identity import Identity, name_key
from services.registration.domain.methods import person_fields as person
from services.registration.domain.model import MOBILE_LEVEL, Subscriber
from shared.contracts.registration import MobileStart

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

    @property
    def id_number(self) -> str:
        return self.identity.id_number


def parse_application(request: MobileStart, today: date) -> MobileApplication:
    """Validates the fields of a mobile registration.

    Shape problems (missing, wrong type, bad name, date, sex or e-mail) are all reported
    together as ``validation_error``; then the ID number (``invalid_id_number``, which needs a
    valid birth date and sex to be checked) and the phone (``invalid_phone``).
    """
    errors = FieldErrors()
    person.citizen_only(errors, request.subject_type, "thuê bao di động")
    declared = person.declared_citizen(errors, request, today)
    errors.raise_if_any()
    citizen = declared.checked()
    return MobileApplication(subject_type="citizen", identity=citizen.identity,
                             phone=citizen.phone, email=citizen.email)


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

