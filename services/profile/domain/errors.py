"""The profile service's one exception hierarchy: every error a caller may see.

Each error carries a stable English ``code`` (API.md) and a Vietnamese ``detail`` a person
can act on; ``to_error()`` is the error object of docs/messaging.md.
"""

from __future__ import annotations

from shared.errors import ServiceError


class ProfileError(ServiceError):
    """Base of every error this service answers with."""


class ValidationFailed(ProfileError):
    code = "validation_error"
    default_detail = "Thông tin gửi lên không hợp lệ, vui lòng kiểm tra lại."


class InvalidCredentials(ProfileError):
    # One message whether the account exists or not: the answer must not reveal which.
    code = "invalid_credentials"
    default_detail = "Tên đăng nhập hoặc mật khẩu không đúng."


class Unauthenticated(ProfileError):
    code = "unauthenticated"
    default_detail = "Phiên đăng nhập không hợp lệ hoặc đã hết hạn, vui lòng đăng nhập lại."


class NotFound(ProfileError):
    code = "not_found"
    default_detail = "Không tìm thấy phiên đăng nhập này hoặc phiên đã hết hạn."


class FlowExpired(ProfileError):
    code = "flow_expired"
    default_detail = "Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại từ đầu."


class FlowState(ProfileError):
    code = "flow_state"
    default_detail = "Thao tác không phù hợp với bước hiện tại của phiên đăng nhập."


class NoOtpPhone(FlowState):
    default_detail = ("Tài khoản chưa có số điện thoại nhận mã OTP; vui lòng đăng nhập bằng "
                      "chữ ký số hoặc liên hệ bộ phận hỗ trợ.")


class OtpRejected(ProfileError):
    """An error of the otp service, passed through with its own code, detail and retry_after."""

    def __init__(self, code: str, detail: str | None = None, *,
                 retry_after: int | None = None) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.code = code
