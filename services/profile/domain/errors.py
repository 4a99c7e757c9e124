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


class NoPasswordMethod(ProfileError):
    """"Quên mật khẩu" on an account that logs in by signature only: a reset would create a
    password (recoverable by SMS) the account never had."""

    code = "no_password_method"
    default_detail = ("Tài khoản này không đăng nhập bằng mật khẩu nên không thể đặt lại mật "
                      "khẩu. Vui lòng đăng nhập bằng chữ ký số trên SIM (SIM ký số) hoặc chữ ký "
                      "số USB (USB ký số) đã đăng ký.")


class OtpRejected(ProfileError):
    """An error of the otp service, passed through with its own code, detail and retry_after."""

    def __init__(self, code: str, detail: str | None = None, *,
                 retry_after: int | None = None) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.code = code


class CaptchaRequired(ProfileError):
    code = "captcha_required"
    # Neutral (issue 17): it is also asked on a person's first try, after strangers' failures.
    default_detail = ("Để bảo vệ tài khoản, lần đăng nhập này cần thêm mã xác thực. Vui lòng "
                      "nhập các ký tự trong hình (không phân biệt chữ hoa, chữ thường).")


class CaptchaInvalid(ProfileError):
    code = "captcha_invalid"
    default_detail = ("Mã xác thực chưa đúng hoặc đã hết hạn. Vui lòng nhập mã trong hình mới "
                      "(không phân biệt chữ hoa, chữ thường).")


class AccountLocked(ProfileError):
    code = "account_locked"
    default_detail = ("Tài khoản tạm thời bị khóa do nhập sai mật khẩu quá nhiều lần. Vui "
                      "lòng thử lại sau 15 phút hoặc dùng chức năng Quên mật khẩu.")


class RateLimited(ProfileError):
    code = "rate_limited"
    default_detail = "Bạn đã thao tác quá nhiều lần. Vui lòng thử lại sau ít phút."


class SubscriberMismatch(ProfileError):
    code = "subscriber_mismatch"
    default_detail = ("Số điện thoại mới không đứng tên chủ tài khoản trong cơ sở dữ liệu "
                      "thuê bao của nhà mạng. Vui lòng cập nhật thông tin thuê bao tại nhà "
                      "mạng rồi thử lại.")


class InvalidPhone(ProfileError):
    code = "invalid_phone"
    default_detail = "Số điện thoại không hợp lệ, vui lòng nhập số di động Việt Nam."


class ExternalUnavailable(ProfileError):
    code = "external_unavailable"
    default_detail = ("Không kết nối được cơ sở dữ liệu thuê bao của nhà mạng. Vui lòng "
                      "thử lại sau ít phút.")


class PasswordPolicy(ProfileError):
    code = "password_policy"

    def __init__(self, problems: list[tuple[str, str]], field: str = "password") -> None:
        # problems: (rule id, requirement phrase); every unmet rule is listed at once.
        detail = ("Mật khẩu chưa đạt yêu cầu. Mật khẩu cần: "
                  + "; ".join(p for _, p in problems) + ".")
        super().__init__(detail, fields=[{"name": field, "rule": rule,
                                          "detail": f"Mật khẩu cần {phrase}."}
                                         for rule, phrase in problems])


class PasswordMismatch(ProfileError):
    code = "password_mismatch"
    default_detail = "Mật khẩu xác nhận không khớp với mật khẩu mới."


class ConfirmationMismatch(PasswordMismatch):
    """The password typed again at registration (``stage_credential``) differs: the answer
    registration's page has always shown, naming the confirmation field."""

    default_detail = "Mật khẩu nhập lại không khớp với mật khẩu đã nhập."

    def __init__(self) -> None:
        super().__init__(fields=[{"name": "password_confirmation", "detail": self.default_detail}])


class Forbidden(ProfileError):
    code = "forbidden"
    default_detail = "Tài khoản của bạn không có quyền thực hiện thao tác này."


class CertificateNotRegistered(ProfileError):
    """A valid certificate that no account is bound to, and whose identity has no account."""

    code = "certificate_not_registered"
    default_detail = ("Chứng thư số này hợp lệ nhưng chưa gắn với tài khoản nào trên Cổng Dịch "
                      "vụ công Quốc gia. Vui lòng đăng ký tài khoản bằng chữ ký số này, hoặc "
                      "thêm nó vào tài khoản của bạn trong mục «Các phương thức xác thực».")


class PkiRejected(ProfileError):
    """A refusal of the pki service (certificate, signature, SIM), passed through with its own
    code, detail and fields."""

    def __init__(self, code: str, detail: str | None = None, *,
                 fields: list[dict[str, str]] | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(detail, fields=fields, retry_after=retry_after)
        self.code = code


class AccountDisabled(ProfileError):
    """An operator disabled this (staff) account: it cannot log in nor use the agent API."""

    code = "account_disabled"
    default_detail = ("Tài khoản này đã bị vô hiệu hóa. Vui lòng liên hệ quản trị viên để "
                      "được hỗ trợ.")


class AccountExists(ProfileError):
    """An operator asked for a staff account (agent, agency) that already exists."""

    code = "account_exists"
    default_detail = "Tài khoản này đã tồn tại."


# --- account management (issue 6: /me) ------------------------------------------------------

class ReauthenticationRequired(ProfileError):
    """A sensitive change (auth methods, password, email, ending another session) from a
    session that has not stepped up in the last 5 minutes (domain/step_up.py)."""

    code = "reauthentication_required"
    default_detail = ("Vì lý do an toàn, thao tác này cần xác thực lại: vui lòng nhập lại mật "
                      "khẩu và mã OTP (hoặc ký bằng chữ ký số) rồi thực hiện trong vòng 5 phút.")


class InsufficientAssurance(ProfileError):
    """The session stepped up with a factor weaker than what it changes (a USB token or SIM
    signature needs a step-up with a signature of a certificate bound to the account)."""

    code = "insufficient_assurance"
    default_detail = ("Thay đổi phương thức ký số (USB, SIM) cần xác thực lại bằng chữ ký số "
                      "đã gắn với tài khoản; xác thực bằng mật khẩu và OTP là chưa đủ.")


class LastAuthMethod(ProfileError):
    code = "last_auth_method"
    default_detail = ("Không thể xóa phương thức xác thực này: đây là cách đăng nhập cuối cùng "
                      "của tài khoản. Vui lòng thêm phương thức khác trước khi xóa.")


class PhoneLimit(ProfileError):
    code = "phone_limit"
    default_detail = ("Tài khoản đã có tối đa 5 số điện thoại nhận mã OTP. Vui lòng xóa bớt "
                      "một số trước khi thêm số mới.")


class CredentialMissing(ProfileError):
    """AccountCreated names a staged credential that profile does not hold (taken by another
    account, or purged after the events' retention): no account is made without its password;
    the event is dead-lettered under this code for an operator."""

    code = "credential_missing"
    default_detail = "Không tìm thấy mật khẩu đã lưu tạm cho đăng ký này."
