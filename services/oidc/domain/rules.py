"""The protocol's rules, pure: the authorization request, redirect URIs, acr/amr, claims per
scope (docs/oidc.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from services.oidc.domain.errors import InvalidClientMetadata, Redirected
from services.oidc.domain.models import Client

CODE_TTL = timedelta(seconds=60)
SCOPES = ("openid", "profile", "phone", "email", "vn_identity")
ACR_BY_LEVEL = {1: "urn:dvcid:loa:1", 2: "urn:dvcid:loa:2", 3: "urn:dvcid:loa:3"}
LEVEL_BY_ACR = {acr: level for level, acr in ACR_BY_LEVEL.items()}
# RFC 8176 values of each login method of profile (handlers/login/): the password login is
# the password and an OTP by SMS; USB and SIM are a key in hardware unlocked by a PIN.
AMR_BY_METHOD = {
    "password": ("pwd", "otp", "sms", "mfa"),
    "first_login": ("pwd", "otp", "sms", "mfa"),
    "usb": ("hwk", "sc", "pin", "mfa"),
    "sim": ("hwk", "pin", "mca", "mfa"),
}
# RFC 7636 4.1: the challenge is BASE64URL(SHA256(verifier)), 43 characters.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CLAIMS_BY_SCOPE = {
    "openid": ("sub",),
    "profile": ("name", "birthdate", "gender"),
    "phone": ("phone_number", "phone_number_verified"),
    "email": ("email", "email_verified"),
    "vn_identity": ("vn_subject_type", "vn_id_type", "vn_id_number", "vn_tax_code",
                    "vn_agency_code"),
}


@dataclass(frozen=True)
class AuthorizationParams:
    """A sound authorization request, after the client and its redirect URI were checked."""

    scopes: tuple[str, ...]
    state: str
    nonce: str
    code_challenge: str
    prompt: frozenset[str]
    max_age: int | None = None
    # The lowest level the client's acr_values accept (None: any).
    level: int | None = None


def check_authorization(
    *,
    response_type: str | None,
    scope: str | None,
    state: str | None,
    nonce: str | None,
    code_challenge: str | None,
    code_challenge_method: str | None,
    prompt: str | None,
    response_mode: str | None,
    max_age: str | None = None,
    acr_values: str | None = None,
    request: str | None,
    request_uri: str | None,
) -> AuthorizationParams:
    """The rest of an authorization request, once its client and exact redirect URI are known
    (each refusal goes back to that URI as ``error``). The order follows the spec's: what
    cannot be processed at all first."""
    if request is not None:
        raise Redirected("request_not_supported", "Không hỗ trợ tham số request.")
    if request_uri is not None:
        raise Redirected("request_uri_not_supported", "Không hỗ trợ tham số request_uri.")
    if response_type != "code":
        raise Redirected("unsupported_response_type", "Chỉ hỗ trợ response_type=code.")
    if response_mode not in (None, "query"):
        raise Redirected("invalid_request", "Chỉ hỗ trợ response_mode=query.")
    asked = (scope or "").split()
    if "openid" not in asked:
        raise Redirected("invalid_scope", "Phạm vi (scope) phải có openid.")
    # Unknown scopes are ignored (OpenID Connect Core 3.1.2.1), the known ones kept in order.
    scopes = tuple(s for s in SCOPES if s in asked)
    if not state:
        raise Redirected("invalid_request", "Thiếu tham số state.")
    if not nonce:
        raise Redirected("invalid_request", "Thiếu tham số nonce.")
    if not code_challenge:
        raise Redirected("invalid_request", "Thiếu code_challenge (PKCE là bắt buộc).")
    if code_challenge_method != "S256":
        raise Redirected("invalid_request", "code_challenge_method phải là S256.")
    if not _S256_CHALLENGE.match(code_challenge):
        raise Redirected("invalid_request", "code_challenge không hợp lệ.")
    prompts = frozenset((prompt or "").split())
    if "none" in prompts and len(prompts) > 1:
        raise Redirected("invalid_request", "prompt=none không đi cùng giá trị khác.")
    seconds = None
    if max_age is not None:
        if not (max_age.isascii() and max_age.isdigit() and len(max_age) <= 9):
            raise Redirected("invalid_request", "max_age phải là số giây không âm.")
        seconds = int(max_age)
    return AuthorizationParams(scopes, state, nonce, code_challenge, prompts, seconds,
                               required_level(acr_values))


def required_level(acr_values: str | None) -> int | None:
    """The lowest level among the ``acr_values`` dvcid knows (the client accepts any of them,
    in its order of preference); unknown values are ignored; none known: no requirement."""
    levels = [LEVEL_BY_ACR[value] for value in (acr_values or "").split() if value in LEVEL_BY_ACR]
    return min(levels, default=None)


def login_needed(params: AuthorizationParams, *, authenticated_at: datetime | None,
                 now: datetime, login_requested_at: datetime | None, level: int = 0) -> bool:
    """Whether the browser must log in (again) before a code: no session; ``prompt=login``;
    a session older than ``max_age`` (OpenID Connect Core 3.1.2.1); a session below the level
    the client's ``acr_values`` ask (a step up: log in with a SIM or USB signature). A login
    made after this request sent the browser to the login page satisfies prompt and max_age
    (no loop); a level it did not reach is the caller's ``unmet_authentication_requirements``."""
    if authenticated_at is None:
        return True
    if params.level is not None and level < params.level:
        return True
    if login_requested_at is not None and authenticated_at >= login_requested_at:
        return False
    if "login" in params.prompt:
        return True
    return params.max_age is not None and now - authenticated_at > timedelta(seconds=params.max_age)


def check_redirect_uris(uris: list[str], *, one_host: bool = True) -> tuple[str, ...]:
    """An operator's redirect URIs: absolute, HTTPS (plain HTTP on the loopback only), no
    fragment, one host for all (the pairwise subject's sector)."""
    hosts = set()
    for uri in uris:
        parts = urlsplit(uri)
        if parts.fragment or not parts.hostname:
            raise InvalidClientMetadata(f"redirect_uri không hợp lệ: {uri}")
        if parts.scheme != "https" and not (parts.scheme == "http"
                                            and parts.hostname in _LOOPBACK):
            raise InvalidClientMetadata(f"redirect_uri phải dùng https: {uri}")
        hosts.add(parts.hostname)
    if one_host and len(hosts) != 1:
        raise InvalidClientMetadata("Mọi redirect_uri của một ứng dụng phải cùng một máy chủ.")
    return tuple(dict.fromkeys(uris))


def client_auth_method(*, public: bool, secret: bool, keys: bool) -> str:
    """Exactly one way to authenticate at the token endpoint (docs/oidc.md)."""
    if public + secret + keys != 1:
        raise InvalidClientMetadata("Chọn đúng một cách xác thực: --public, secret hoặc khoá "
                                    "công khai (jwks / jwks_uri).")
    return "none" if public else "client_secret_basic" if secret else "private_key_jwt"


# Members of a JWK that only a private or a symmetric key has (RFC 7518 6.2.2, 6.3.2, 6.4).
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def check_public_jwks(jwks: dict[str, Any]) -> None:
    """A client registers public keys only: a private or a shared key would be a secret in
    dvcid's database."""
    for key in jwks.get("keys") or []:
        if not isinstance(key, dict) or _PRIVATE_MEMBERS & set(key):
            raise InvalidClientMetadata("jwks chỉ được chứa khoá công khai.")


def code_expired(expires_at: datetime, now: datetime) -> bool:
    return now >= expires_at


def acr_of(level: int) -> str:
    return ACR_BY_LEVEL.get(level, ACR_BY_LEVEL[1])


def amr_of(method: str | None) -> list[str]:
    return list(AMR_BY_METHOD.get(method or "", ()))


def claims_for(scopes: tuple[str, ...], subject: dict[str, Any]) -> dict[str, Any]:
    """The userinfo claims of ``scopes`` from profile's view of the account (its
    ``oidc_claims`` answer): standard claims for profile, phone and email; ``vn_*`` claims for
    the national identity. A claim the account does not have is left out."""
    identity: dict[str, Any] = subject.get("identity") or {}
    subject_type = subject.get("subject_type")
    claims: dict[str, Any] = {}
    if "profile" in scopes:
        claims["name"] = identity.get("full_name")
        claims["birthdate"] = identity.get("birth_date")
        claims["gender"] = identity.get("sex")
    if "phone" in scopes and subject.get("phone"):
        claims["phone_number"] = subject["phone"]
        claims["phone_number_verified"] = True  # an OTP phone: proven by a code
    if "email" in scopes and subject.get("email"):
        claims["email"] = subject["email"]
        claims["email_verified"] = False  # dvcid does not prove e-mail addresses
    if "vn_identity" in scopes:
        claims["vn_subject_type"] = subject_type
        if subject_type == "enterprise":
            claims["vn_tax_code"] = identity.get("tax_code") or identity.get("id_number")
        elif subject_type == "agency":
            claims["vn_agency_code"] = identity.get("code") or identity.get("id_number")
        else:
            claims["vn_id_type"] = identity.get("id_type")
            claims["vn_id_number"] = identity.get("id_number")
    return {name: value for name, value in claims.items() if value is not None}


def epoch(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


def client_uses_redirect(client: Client, redirect_uri: str | None) -> bool:
    """Exact string match (OAuth 2.0 Security BCP 4.1.3): no prefix, no normalisation."""
    return redirect_uri is not None and redirect_uri in client.redirect_uris
