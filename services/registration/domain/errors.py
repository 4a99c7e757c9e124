"""The one exception hierarchy of the registration service.

Every error a caller may see carries a stable English ``code`` (API.md) and a Vietnamese
``detail`` a person can act on; ``to_error()`` gives the reply object of docs/messaging.md.
"""

from __future__ import annotations

from shared.errors import ServiceError


class RegistrationError(ServiceError):
    """Base of every error this service answers with."""


class ValidationFailed(RegistrationError):
    """Missing, wrong-typed or malformed fields; ``fields`` names every one of them."""

    code = "validation_error"
    default_detail = "Thông tin đăng ký chưa hợp lệ, vui lòng kiểm tra lại các trường được đánh dấu."

    def __init__(self, fields: list[dict[str, str]], detail: str | None = None) -> None:
        super().__init__(detail, fields=fields)


class InvalidIdNumber(RegistrationError):
    code = "invalid_id_number"
    default_detail = "Số CCCD/CMND không hợp lệ."

    def __init__(self, detail: str) -> None:
        super().__init__(detail, fields=[{"name": "id_number", "detail": detail}])


class InvalidTaxCode(RegistrationError):
    code = "invalid_tax_code"
    default_detail = "Mã số thuế không hợp lệ."

    def __init__(self, detail: str | None = None, field: str = "tax_code") -> None:
        message = detail or self.default_detail
        super().__init__(message, fields=[{"name": field, "detail": message}])


class BhxhNotFound(RegistrationError):
    """No insured person has this BHXH code. Says nothing else."""

    code = "bhxh_not_found"
    default_detail = (
        "Không tìm thấy mã số BHXH này trong cơ sở dữ liệu Bảo hiểm xã hội. Vui lòng kiểm tra "
        "lại mã số BHXH (10 chữ số, in trên thẻ BHYT hoặc sổ BHXH)."
    )


class BhxhMismatch(RegistrationError):
    """The record exists but differs: which field differs is never said (it would let anyone
    probe a stranger's record field by field)."""

    code = "bhxh_mismatch"
    default_detail = (
        "Thông tin đã khai (số CCCD/CMND, họ và tên, ngày sinh) không khớp với thông tin của mã "
        "số BHXH trong cơ sở dữ liệu Bảo hiểm xã hội. Vui lòng kiểm tra lại, hoặc liên hệ cơ "
        "quan BHXH để cập nhật thông tin rồi đăng ký lại."
    )


class BhxhPhoneMismatch(RegistrationError):
    """The record backs the person, but the phone is not known to be theirs: neither the
    phone of the record nor one registered to their ID number at the carrier. Whose phone it
    is, and which phone the record holds, are never said."""

    code = "bhxh_phone_mismatch"
    default_detail = (
        "Số điện thoại đã nhập không phải số điện thoại của người có mã số BHXH này: số phải "
        "trùng với số điện thoại trong hồ sơ Bảo hiểm xã hội, hoặc được nhà mạng đăng ký chính "
        "chủ cho chính số CCCD/CMND đã khai. Vui lòng nhập đúng số điện thoại của bạn, cập nhật "
        "số điện thoại với cơ quan BHXH hoặc thông tin thuê bao tại cửa hàng của nhà mạng rồi "
        "đăng ký lại."
    )


class RegistrationRateLimited(RegistrationError):
    """Too many registration starts for one ID number or one phone in the window: each start
    asks an outside registry about a person, so starts are a probe to be braked."""

    code = "rate_limited"
    default_detail = (
        "Có quá nhiều yêu cầu đăng ký với số CCCD/CMND hoặc số điện thoại này. Vui lòng thử lại "
        "sau {minutes} phút."
    )

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(self.default_detail.format(minutes=minutes), retry_after=retry_after)


class InvalidPhone(RegistrationError):
    code = "invalid_phone"
    default_detail = "Số điện thoại không phải là số di động Việt Nam hợp lệ."

    def __init__(self, detail: str | None = None) -> None:
        message = detail or self.default_detail
        super().__init__(message, fields=[{"name": "phone", "detail": message}])


class AccountExists(RegistrationError):
    code = "account_exists"
    default_detail = (
        "Số CCCD/CMND này đã có tài khoản trên Cổng Dịch vụ công Quốc gia. Nếu đó là tài khoản "
        "của bạn, hãy dùng chức năng «Quên mật khẩu» ở màn hình đăng nhập hoặc đến quầy giao "
        "dịch (Bưu điện) để lấy lại mật khẩu; nếu bạn không sở hữu tài khoản này, hãy gửi "
        "phản ánh, khiếu nại."
    )


class SubscriberMismatch(RegistrationError):
    code = "subscriber_mismatch"
    default_detail = (
        "Số điện thoại này không được đăng ký chính chủ cho người có thông tin đã khai (số "
        "CCCD/CMND, họ tên, ngày sinh). Vui lòng kiểm tra lại thông tin, hoặc đến cửa hàng của "
        "nhà mạng để cập nhật thông tin thuê bao rồi đăng ký lại."
    )


class ExternalUnavailable(RegistrationError):
    """A system we depend on (telco registry, OTP service) did not answer: a 503, not a no."""

    code = "external_unavailable"
    default_detail = "Hệ thống kiểm tra thông tin tạm thời không phản hồi. Vui lòng thử lại sau ít phút."


class PasswordPolicyViolation(RegistrationError):
    """profile, the owner of the password rule (issue 16), refused the password: its detail
    and one field problem per unmet rule (``rule``: the rule id) pass through unchanged."""

    code = "password_policy"

    def __init__(self, detail: str | None, fields: list[dict[str, str]] | None) -> None:
        super().__init__(detail, fields=fields)
        self.rules = [f["rule"] for f in fields or [] if "rule" in f]


class PasswordMismatch(RegistrationError):
    code = "password_mismatch"
    default_detail = "Mật khẩu nhập lại không khớp với mật khẩu đã nhập."

    def __init__(self, detail: str | None = None,
                 fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail, fields=fields or [
            {"name": "password_confirmation", "detail": self.default_detail}])


class FlowState(RegistrationError):
    code = "flow_state"
    default_detail = "Bước này không phù hợp với trạng thái hiện tại của hồ sơ đăng ký."


class FlowExpired(RegistrationError):
    code = "flow_expired"
    default_detail = "Phiên đăng ký đã hết hạn. Vui lòng đăng ký lại từ đầu."


class FlowNotFound(RegistrationError):
    """Unknown id, wrong or missing flow token: the same answer, so nothing is revealed."""

    code = "not_found"
    default_detail = "Không tìm thấy phiên đăng ký."


class OtpRejected(RegistrationError):
    """An error of the otp service, passed through with its own code, detail and retry_after."""

    def __init__(self, code: str, detail: str | None, retry_after: int | None = None,
                 fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail, fields=fields, retry_after=retry_after)
        self.code = code


class EmailRequired(RegistrationError):
    """An enterprise registering with a digital signature must give an e-mail address."""

    code = "email_required"
    default_detail = "Doanh nghiệp cần nhập địa chỉ email để hoàn tất đăng ký."

    def __init__(self) -> None:
        super().__init__(fields=[{"name": "email", "detail": self.default_detail}])


class PkiRejected(RegistrationError):
    """A refusal of the pki service (certificate, signature, SIM), passed through with its own
    code, detail and fields."""

    def __init__(self, code: str, detail: str | None,
                 fields: list[dict[str, str]] | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(detail, fields=fields, retry_after=retry_after)
        self.code = code


class TransactionConflict(Exception):
    """Internal: a concurrent transaction touched the same documents; the unit is retried."""


class UsernameTaken(Exception):
    """Internal: an issued username (post office) is already someone's; draw another."""


class CounterDailyLimit(RegistrationError):
    """An agent reached the day's counter registrations (a brake on a dishonest or hijacked
    agent account)."""

    code = "rate_limited"
    default_detail = ("Tài khoản nhân viên đã đăng ký đủ số lượng cho phép trong ngày. Vui lòng "
                      "tiếp tục vào ngày mai hoặc liên hệ quản trị viên.")

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after=retry_after)


class ProfileRejected(RegistrationError):
    """profile refused to stage the credential for another reason than the password rule or
    its confirmation: its code passes through unchanged."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
