"""Pure rules of the otp service (imports no I/O library)."""

from services.otp.domain.commands import checked_code
from services.otp.domain.errors import (
    ChallengeNotFound,
    InvalidInput,
    OtpAttemptsExceeded,
    OtpError,
    OtpExpired,
    OtpInvalid,
    OtpResendTooSoon,
    OtpSendLimit,
    SmsFailed,
)
from services.otp.domain.model import Challenge, Purpose
from services.otp.domain.ports import SmsDeliveryError, SmsSender

__all__ = [
    "Challenge",
    "ChallengeNotFound",
    "InvalidInput",
    "OtpAttemptsExceeded",
    "OtpError",
    "OtpExpired",
    "OtpInvalid",
    "OtpResendTooSoon",
    "OtpSendLimit",
    "Purpose",
    "SmsDeliveryError",
    "SmsFailed",
    "SmsSender",
    "checked_code",
]
