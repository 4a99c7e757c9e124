"""Configuration: development defaults work, production refuses them and a sandbox Twilio."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from pydantic import ValidationError

from services.otp.config import OtpSettings

STRONG_SECRET = secrets.token_urlsafe(32)
STRONG_TOKEN = secrets.token_hex(16)  # a Twilio auth token: 32 hex digits
# What every production process needs besides its own secrets.
INFRA: dict[str, Any] = {"env": "production", "nats_tls_ca": "/etc/dvcid/nats-ca/ca.crt",
                         "twilio_account_sid": "AC" + secrets.token_hex(16)}


def test_development_defaults() -> None:
    settings = OtpSettings()
    assert settings.twilio_from == "+15005550006"
    assert settings.twilio_api_base is None
    assert settings.database_name("otp").endswith("_otp")


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValidationError, match="DVCID_OTP_SECRET"):
        OtpSettings(**INFRA, twilio_auth_token=STRONG_TOKEN)
    with pytest.raises(ValidationError, match="DVCID_TWILIO_AUTH_TOKEN"):
        OtpSettings(**INFRA, otp_secret=STRONG_SECRET)
    assert OtpSettings(**INFRA, otp_secret=STRONG_SECRET,
                       twilio_auth_token=STRONG_TOKEN).env == "production"


@pytest.mark.parametrize("weak", ["CHANGE-ME", "", "s" * 32, secrets.token_urlsafe(16)])
def test_production_refuses_a_weak_otp_key(weak: str) -> None:
    with pytest.raises(ValidationError, match="DVCID_OTP_SECRET"):
        OtpSettings(**INFRA, otp_secret=weak, twilio_auth_token=STRONG_TOKEN)


@pytest.mark.parametrize("sid", [None, "CHANGE-ME"])
def test_production_refuses_a_placeholder_twilio_account(sid: str | None) -> None:
    given = {**INFRA, "twilio_account_sid": sid}
    if sid is None:
        del given["twilio_account_sid"]  # the development default
    with pytest.raises(ValidationError, match="DVCID_TWILIO_ACCOUNT_SID"):
        OtpSettings(**given, otp_secret=STRONG_SECRET, twilio_auth_token=STRONG_TOKEN)


def test_production_refuses_an_smtp_password_placeholder() -> None:
    with pytest.raises(ValidationError, match="DVCID_SMTP_PASSWORD"):
        OtpSettings(**INFRA, otp_secret=STRONG_SECRET, twilio_auth_token=STRONG_TOKEN,
                    smtp_host="smtp.example.vn", smtp_password="CHANGE-ME")


def test_production_refuses_a_redirected_twilio() -> None:
    with pytest.raises(ValidationError, match="TWILIO_API_BASE"):
        OtpSettings(**INFRA, twilio_api_base="http://127.0.0.1:8100/twilio",
                    otp_secret=STRONG_SECRET, twilio_auth_token=STRONG_TOKEN)
