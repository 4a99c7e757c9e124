"""The oidc service's one error hierarchy. Each ``code`` is the OAuth 2.0 / OpenID Connect
error code the gateway answers as it is (RFC 6749 5.2, OpenID Connect Core 3.1.2.6, RFC 6750
3.1); the Vietnamese ``detail`` becomes ``error_description``."""

from __future__ import annotations

from shared.errors import ServiceError


class OidcError(ServiceError):
    default_detail = "Yêu cầu đăng nhập một lần không hợp lệ."


class InvalidRequest(OidcError):
    code = "invalid_request"
    default_detail = "Yêu cầu thiếu hoặc sai tham số."


class InvalidClient(OidcError):
    code = "invalid_client"
    default_detail = "Không xác thực được ứng dụng (client)."


class InvalidRedirectUri(OidcError):
    """The redirect URI is not one the client registered: never redirected to."""

    code = "invalid_request"
    default_detail = "Địa chỉ chuyển hướng (redirect_uri) không được đăng ký cho ứng dụng này."


class InvalidGrant(OidcError):
    code = "invalid_grant"
    default_detail = "Mã cấp quyền không hợp lệ, đã hết hạn hoặc đã được dùng."


class UnauthorizedClient(OidcError):
    code = "unauthorized_client"
    default_detail = "Ứng dụng không được phép dùng cách cấp quyền này."


class UnsupportedGrantType(OidcError):
    code = "unsupported_grant_type"
    default_detail = "Chỉ hỗ trợ grant_type=authorization_code."


class InvalidScope(OidcError):
    code = "invalid_scope"
    default_detail = "Phạm vi (scope) yêu cầu vượt quá phạm vi đã được cấp."


class UnsupportedTokenType(OidcError):
    code = "unsupported_token_type"  # RFC 7009 2.2.1
    default_detail = "Loại token không được hỗ trợ."


class InvalidToken(OidcError):
    code = "invalid_token"
    default_detail = "Access token không hợp lệ hoặc đã hết hạn."


class InvalidClientMetadata(OidcError):
    """An operator's client registration refused (RFC 7591's code)."""

    code = "invalid_client_metadata"
    default_detail = "Thông tin đăng ký ứng dụng không hợp lệ."


class Redirected(OidcError):
    """An authorization error the client learns at its (verified) redirect URI."""

    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        super().__init__(detail)
