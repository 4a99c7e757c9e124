"""What otp checks in a request beyond its contract's shape (``shared/contracts/otp.py``):
checked at the edge, so a bad input changes nothing."""

from __future__ import annotations

from services.otp.domain.errors import InvalidInput
from services.otp.domain.model import CODE_SHAPE


def checked_code(typed: str) -> str:
    """The code as typed, surrounding spaces left out; a code of the wrong shape is told as
    such (and costs no attempt: it is refused before the challenge is read)."""
    code = typed.strip()
    if not CODE_SHAPE.match(code):
        raise InvalidInput(fields=[{"name": "code", "detail": "Mã OTP gồm 6 chữ số."}])
    return code
