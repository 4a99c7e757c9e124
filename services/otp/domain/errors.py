"""The otp service's one error hierarchy: stable English codes, Vietnamese details."""

from __future__ import annotations

from shared.errors import ServiceError


class OtpError(ServiceError):
    """A refusal the caller can act on; ``to_error()`` is the reply's error object."""

    default_detail = "Đã có lỗi xảy ra, vui lòng thử lại."


class InvalidInput(OtpError):
    code = "validation_error"
    default_detail = "Dữ liệu gửi lên không hợp lệ, vui lòng kiểm tra lại."


class ChallengeNotFound(OtpError):
    code = "not_found"
    default_detail = "Không tìm thấy yêu cầu xác thực OTP. Vui lòng thực hiện lại từ đầu."


class OtpInvalid(OtpError):
    code = "otp_invalid"

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining
        if remaining > 0:
            detail = f"Mã OTP không đúng. Bạn còn {remaining} lần nhập."
        else:
            detail = ("Mã OTP không đúng. Bạn đã nhập sai quá số lần cho phép, "
                      "vui lòng thực hiện lại từ đầu.")
        super().__init__(detail)


class OtpExpired(OtpError):
    code = "otp_expired"
    default_detail = "Mã OTP đã hết hiệu lực. Vui lòng bấm “Gửi lại OTP” để nhận mã mới."


class OtpAttemptsExceeded(OtpError):
    code = "otp_attempts_exceeded"
    default_detail = "Bạn đã nhập sai mã OTP quá 5 lần. Vui lòng thực hiện lại từ đầu."


class OtpResendTooSoon(OtpError):
    code = "otp_resend_too_soon"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Vui lòng đợi {retry_after} giây trước khi yêu cầu gửi lại mã OTP.",
                         retry_after=retry_after)


class OtpSendLimit(OtpError):
    code = "otp_send_limit"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__("Số điện thoại này đã nhận quá 5 mã OTP trong một giờ. "
                         f"Vui lòng thử lại sau {minutes} phút.", retry_after=retry_after)


class EmailFailed(OtpError):
    code = "email_failed"
    default_detail = "Không gửi được thư điện tử đến địa chỉ này. Vui lòng thử lại sau ít phút."


class SmsFailed(OtpError):
    code = "sms_failed"
    default_detail = ("Không gửi được tin nhắn chứa mã OTP đến số điện thoại này. "
              "Vui lòng kiểm tra lại số điện thoại hoặc thử lại sau ít phút.")
