"""Configuration: development defaults work, production refuses them and a sandbox Twilio."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.otp.config import OtpSettings

STRONG_SECRET = "s" * 32
STRONG_TOKEN = "t" * 32


def test_development_defaults() -> None:
    settings = OtpSettings()
    assert settings.twilio_from == "+15005550006"
    assert settings.twilio_api_base is None
    assert settings.database_name("otp").endswith("_otp")


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValidationError, match="otp_secret"):
        OtpSettings(env="production", twilio_auth_token="t" * 32)
    with pytest.raises(ValidationError, match="twilio_auth_token"):
        OtpSettings(env="production", otp_secret="s" * 32)
    assert OtpSettings(env="production", otp_secret=STRONG_SECRET,
                       twilio_auth_token=STRONG_TOKEN).env == "production"


def test_production_refuses_a_redirected_twilio() -> None:
    with pytest.raises(ValidationError, match="TWILIO_API_BASE"):
        OtpSettings(env="production", twilio_api_base="http://127.0.0.1:8100/twilio",
                    otp_secret=STRONG_SECRET, twilio_auth_token=STRONG_TOKEN)
