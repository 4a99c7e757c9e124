"""Registration with a SIM digital signature (Sim ký số): citizens and enterprises, level 3.

The person chooses their subject type and enters the SIM's phone number; the SIM signature
provider sends a signing request to the phone (with a 4-digit verification code the page
shows too); the owner confirms it and enters the SIM PIN. The page polls ``GET``: once the
provider answers, pki validates the returned certificate and signature and the identity read
from the certificate appears; the person adds an e-mail (required for enterprises) and
confirms. A rejection on the phone ends the flow (``sim_rejected``), as does silence
(``sim_timeout``).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.registration.domain.fields import FieldErrors
from services.registration.domain.phone import normalize_mobile
from services.registration.domain.signature import SIGNATURE_LEVEL, SIM
from shared.contracts.registration import SimStart
from shared.events.schemas import SubjectType

METHOD = SIM
LEVEL = SIGNATURE_LEVEL


@dataclass(frozen=True)
class SimApplication:
    subject_type: SubjectType
    phone: str  # E.164


def parse_application(request: SimStart) -> SimApplication:
    errors = FieldErrors()
    raw_phone = errors.required_text(request.phone, "phone", "số điện thoại của SIM ký số")
    errors.raise_if_any()
    assert raw_phone is not None
    return SimApplication(subject_type=request.subject_type, phone=normalize_mobile(raw_phone))
