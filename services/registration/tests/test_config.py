"""Configuration: development defaults work in dev and are refused in production."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from pydantic import ValidationError

from services.registration.config import RegistrationSettings

STRONG: dict[str, Any] = {"flow_secret": secrets.token_urlsafe(32),
                          "telco_api_key": secrets.token_urlsafe(24),
                          "telco_url": "https://telco.example.vn/registry",
                          "bhxh_api_key": secrets.token_hex(20),
                          "bhxh_url": "https://bhxh.example.vn/registry",
                          "nats_tls_ca": "/etc/dvcid/nats-ca/ca.crt"}


def test_dev_defaults() -> None:
    settings = RegistrationSettings()
    assert settings.telco_url == "http://127.0.0.1:8100/telco"
    assert settings.telco_api_key.startswith("dev-insecure-")
    assert settings.flow_secret.startswith("dev-insecure-")
    assert settings.bhxh_url == "http://127.0.0.1:8100/bhxh"
    assert settings.bhxh_api_key.startswith("dev-insecure-")


@pytest.mark.parametrize("weak", ["flow_secret", "telco_api_key", "bhxh_api_key"])
def test_production_refuses_development_secrets(weak: str) -> None:
    with pytest.raises(ValidationError, match=f"DVCID_{weak.upper()}"):
        RegistrationSettings(env="production", **{**STRONG, weak: "dev-insecure-x"})


@pytest.mark.parametrize("weak", ["telco_api_key", "bhxh_api_key"])
def test_production_refuses_an_empty_or_short_registry_key(weak: str) -> None:
    for value in ("", secrets.token_hex(8)):
        with pytest.raises(ValidationError, match=f"DVCID_{weak.upper()}"):
            RegistrationSettings(env="production", **{**STRONG, weak: value})


def test_production_refuses_a_short_flow_key() -> None:
    with pytest.raises(ValidationError, match=r"DVCID_FLOW_SECRET .* too short"):
        RegistrationSettings(env="production", **{**STRONG, "flow_secret": "f3l0w-k3y"})


@pytest.mark.parametrize("name", ["telco_url", "bhxh_url"])
def test_production_refuses_a_sandbox_registry(name: str) -> None:
    with pytest.raises(ValidationError, match="sandbox"):
        RegistrationSettings(env="production", **{**STRONG, name: "http://sandbox:8100/x"})


def test_production_accepts_real_secrets() -> None:
    assert RegistrationSettings(env="production", **STRONG).env == "production"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVCID_TELCO_URL", "http://127.0.0.1:9999/telco")
    monkeypatch.setenv("DVCID_TELCO_API_KEY", "from-env")
    monkeypatch.setenv("DVCID_FLOW_SECRET", "from-env-too")
    settings = RegistrationSettings()
    assert (settings.telco_url, settings.telco_api_key, settings.flow_secret) == (
        "http://127.0.0.1:9999/telco", "from-env", "from-env-too")
