"""The gateway's configuration: cookies are Secure in production, whatever is set."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from pydantic import ValidationError

from services.gateway.config import GatewaySettings

PRODUCTION: dict[str, Any] = {"env": "production", "web_secret": secrets.token_urlsafe(32),
                              "nats_tls_ca": "/etc/dvcid/nats-ca/ca.crt"}


def test_cookies_are_secure_in_production_by_default() -> None:
    assert GatewaySettings(**PRODUCTION).secure_cookies is True


def test_dev_and_tests_use_plain_http_cookies() -> None:
    assert GatewaySettings(env="dev").secure_cookies is False
    assert GatewaySettings(env="test").secure_cookies is False


def test_production_refuses_cookies_without_the_secure_flag() -> None:
    with pytest.raises(ValidationError, match="DVCID_COOKIE_SECURE"):
        GatewaySettings(**PRODUCTION, cookie_secure=False)


@pytest.mark.parametrize("weak", ["CHANGE-ME", "dev-insecure-web-secret", "",
                                  secrets.token_urlsafe(20)])
def test_production_refuses_a_weak_web_key(weak: str) -> None:
    with pytest.raises(ValidationError, match="DVCID_WEB_SECRET"):
        GatewaySettings(**{**PRODUCTION, "web_secret": weak})


def test_vneid_uses_the_sandbox_secret_in_dev_only() -> None:
    assert GatewaySettings(env="dev").vneid_client_secret == "dev-insecure-vneid-secret"
    assert GatewaySettings(**PRODUCTION).vneid_client_secret is None


def test_production_refuses_vneid_without_a_strong_client_secret() -> None:
    with pytest.raises(ValidationError, match="DVCID_VNEID_CLIENT_SECRET"):
        GatewaySettings(**PRODUCTION, vneid_issuer="https://vneid.gov.vn")
    with pytest.raises(ValidationError, match="DVCID_VNEID_CLIENT_SECRET"):
        GatewaySettings(**PRODUCTION, vneid_issuer="https://vneid.gov.vn",
                        vneid_client_secret="dev-insecure-vneid-secret")
    strong = GatewaySettings(**PRODUCTION, vneid_issuer="https://vneid.gov.vn",
                             vneid_client_secret=secrets.token_urlsafe(32))
    assert strong.vneid_issuer == "https://vneid.gov.vn"
