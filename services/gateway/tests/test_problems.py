"""The mapping of stable codes to HTTP (unit tests, no servers)."""

from __future__ import annotations

import json
import secrets

import pytest

from services.gateway.config import GatewaySettings
from services.gateway.problems import STATUS_BY_CODE, Problem

# The error codes of API.md, verbatim.
API_CODES = """validation_error, invalid_id_number, invalid_tax_code, invalid_phone, account_exists,
subscriber_mismatch, bhxh_not_found, bhxh_mismatch, otp_invalid, otp_expired,
otp_attempts_exceeded, otp_resend_too_soon, otp_send_limit, password_policy,
password_mismatch, invalid_credentials, captcha_required, captcha_invalid, account_locked,
certificate_untrusted, certificate_expired, certificate_revoked, certificate_not_for_signing,
certificate_not_registered, signature_invalid, challenge_expired, sim_rejected, sim_timeout,
email_required, flow_state, flow_expired, unauthenticated, forbidden, rate_limited,
last_auth_method, not_found"""


def test_every_code_of_the_contract_has_a_status() -> None:
    codes = {c.strip() for c in API_CODES.split(",")}
    assert codes - STATUS_BY_CODE.keys() == set()


@pytest.mark.parametrize(("code", "status"), [
    ("validation_error", 422), ("invalid_id_number", 422), ("password_policy", 422),
    ("email_required", 422), ("account_exists", 409), ("flow_state", 409),
    ("last_auth_method", 409), ("invalid_credentials", 401), ("otp_invalid", 401),
    ("otp_expired", 401), ("captcha_required", 401), ("forbidden", 403),
    ("account_locked", 423), ("otp_resend_too_soon", 429), ("otp_send_limit", 429),
    ("rate_limited", 429), ("not_found", 404), ("flow_expired", 404),
    ("subscriber_mismatch", 400), ("certificate_revoked", 400), ("internal", 500),
    ("service_unavailable", 503), ("external_unavailable", 503), ("sms_failed", 502),
    ("something_new", 400),
])
def test_status_of_codes(code: str, status: int) -> None:
    assert Problem(code).status == status


def test_a_remote_error_keeps_detail_fields_and_retry_after() -> None:
    problem = Problem.from_remote({"code": "otp_send_limit", "detail": "Đã gửi quá 5 lần.",
                                   "retry_after": 41.2,
                                   "fields": [{"name": "phone", "detail": "x"}]})
    response = problem.response("/api/v1/registrations")
    body = json.loads(bytes(response.body))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "42"
    assert response.media_type == "application/problem+json"
    assert body == {"type": "urn:dvcid:problem:otp_send_limit", "title": "Quá nhiều yêu cầu",
                    "status": 429, "detail": "Đã gửi quá 5 lần.", "code": "otp_send_limit",
                    "instance": "/api/v1/registrations",
                    "errors": [{"name": "phone", "detail": "x"}], "retry_after": 42}


def test_a_remote_error_without_detail_still_has_one() -> None:
    assert Problem.from_remote({"code": "not_found"}).detail


@pytest.mark.parametrize(("env", "secure"), [("dev", False), ("test", False),
                                             ("production", True)])
def test_cookies_are_secure_outside_dev(env: str, secure: bool) -> None:
    # Production needs a real key (DVCID_WEB_SECRET) and TLS to NATS before it even starts.
    settings = GatewaySettings(env=env, web_secret=secrets.token_urlsafe(32),  # type: ignore[arg-type]
                               nats_tls_ca="/etc/dvcid/nats-ca/ca.crt")
    assert settings.secure_cookies is secure


def test_secure_cookies_can_be_forced() -> None:
    assert GatewaySettings(env="dev", cookie_secure=True).secure_cookies is True


def test_a_bhxh_phone_mismatch_is_refused_like_the_other_registry_mismatches() -> None:
    assert STATUS_BY_CODE["bhxh_phone_mismatch"] == STATUS_BY_CODE["subscriber_mismatch"] == 400
