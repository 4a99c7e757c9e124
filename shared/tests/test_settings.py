import pytest
from pydantic import ValidationError

from shared.settings import CommonSettings


class ServiceSettings(CommonSettings):
    otp_secret: str = "dev-insecure-otp"
    telco_url: str = "http://127.0.0.1:8100/telco"


def test_dev_accepts_the_development_defaults() -> None:
    assert ServiceSettings(env="dev").otp_secret.startswith("dev-insecure-")


def test_production_refuses_a_default_secret() -> None:
    with pytest.raises(ValidationError, match="otp_secret"):
        ServiceSettings(env="production", telco_url="https://telco.example.vn")


def test_production_refuses_the_sandbox_world() -> None:
    with pytest.raises(ValidationError, match="sandbox"):
        ServiceSettings(env="production", otp_secret="s3cr3t-from-the-vault",
                        sandbox_url="http://127.0.0.1:8100", telco_url="https://telco.example.vn")


def test_production_refuses_failpoints() -> None:
    with pytest.raises(ValidationError, match="failpoints"):
        ServiceSettings(env="production", otp_secret="s3cr3t-from-the-vault",
                        telco_url="https://telco.example.vn", failpoints="x")


def test_production_with_real_secrets_starts() -> None:
    settings = ServiceSettings(env="production", otp_secret="s3cr3t-from-the-vault",
                               telco_url="https://telco.example.vn")
    assert settings.database_name("otp") == "dvcid_otp"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVCID_OTP_SECRET", "from-env")
    monkeypatch.setenv("DVCID_NATS_URL", "nats://nats:4222")
    settings = ServiceSettings()
    assert (settings.otp_secret, settings.nats_url) == ("from-env", "nats://nats:4222")
