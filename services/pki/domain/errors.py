"""The pki service's one error hierarchy: stable English codes (API.md), Vietnamese details.

Every refusal of a certificate or signature has its own code, so the page can tell the person
what to do (renew the certificate, pick another one, sign again...).
"""

from __future__ import annotations

from shared.errors import ServiceError


class PkiError(ServiceError):
    default_detail = "Không xác thực được chữ ký số, vui lòng thử lại."


class InvalidInput(PkiError):
    code = "validation_error"
    default_detail = "Dữ liệu gửi lên không hợp lệ, vui lòng kiểm tra lại."


class FlowNotFound(PkiError):
    code = "not_found"
    default_detail = "Không tìm thấy yêu cầu ký số của phiên này. Vui lòng thực hiện lại từ đầu."


class CertificateRefused(PkiError):
    """A certificate or signature that does not prove the identity (CertificateRejected)."""


class CertificateUntrusted(CertificateRefused):
    code = "certificate_untrusted"
    default_detail = ("Chứng thư số không do tổ chức cung cấp dịch vụ chứng thực chữ ký số "
                      "được công nhận cấp. Vui lòng dùng chứng thư số khác.")


class CertificateExpired(CertificateRefused):
    code = "certificate_expired"
    default_detail = ("Chứng thư số đã hết hạn hoặc chưa đến thời gian có hiệu lực. Vui lòng "
                      "gia hạn với nhà cung cấp chữ ký số hoặc dùng chứng thư số khác.")


class CertificateRevoked(CertificateRefused):
    code = "certificate_revoked"
    default_detail = ("Chứng thư số đã bị thu hồi. Vui lòng liên hệ nhà cung cấp chữ ký số "
                      "hoặc dùng chứng thư số khác.")


class CertificateNotForSigning(CertificateRefused):
    code = "certificate_not_for_signing"
    default_detail = ("Chứng thư số này không được cấp cho mục đích ký số. Vui lòng chọn "
                      "chứng thư số dùng để ký.")


class SignatureInvalid(CertificateRefused):
    code = "signature_invalid"
    default_detail = ("Chữ ký số không khớp với dữ liệu cần ký hoặc với chứng thư số. "
                      "Vui lòng ký lại.")


class ChallengeExpired(CertificateRefused):
    code = "challenge_expired"
    default_detail = ("Yêu cầu ký đã hết hạn hoặc đã được sử dụng. Vui lòng bắt đầu lại để "
                      "nhận yêu cầu ký mới.")


class RevocationUnavailable(CertificateRefused):
    # Fail closed: without a fresh answer from the CA we cannot say the certificate is good.
    code = "service_unavailable"
    default_detail = ("Chưa kiểm tra được trạng thái thu hồi của chứng thư số với nhà cung "
                      "cấp chữ ký số. Vui lòng thử lại sau ít phút.")


class SimRejected(CertificateRefused):
    code = "sim_rejected"
    default_detail = "Yêu cầu ký số đã bị từ chối trên điện thoại. Vui lòng thực hiện lại."


class SimTimeout(CertificateRefused):
    code = "sim_timeout"
    default_detail = ("Hết thời gian chờ xác nhận ký số trên điện thoại. Vui lòng thực hiện "
                      "lại và xác nhận trên điện thoại trong thời gian quy định.")


class SimUnavailable(PkiError):
    code = "service_unavailable"
    default_detail = ("Nhà cung cấp dịch vụ ký số trên SIM đang không phản hồi. Vui lòng thử "
                      "lại sau ít phút.")


class SimPromptLimit(PkiError):
    """Too many SIM prompts to one phone (push fatigue): the SIM is not asked."""

    code = "rate_limited"
    default_detail = ("Số điện thoại này vừa nhận nhiều yêu cầu ký số. Để bảo vệ chủ thuê bao, "
                      "vui lòng thử lại sau {minutes} phút.")

    def __init__(self, retry_after: int) -> None:
        super().__init__(self.default_detail.format(minutes=max(1, -(-retry_after // 60))),
                         retry_after=retry_after)
