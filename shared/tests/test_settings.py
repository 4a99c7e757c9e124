"""CommonSettings: development defaults in dev, and a production start-up that refuses every
weak setting, naming it (issue 11: secrets that cannot be weak)."""

import secrets
from typing import Any

import pytest
from pydantic import ValidationError

from shared.settings import CommonSettings


class ServiceSettings(CommonSettings):
    otp_secret: str = "dev-insecure-otp"
    audit_secret: str = "dev-insecure-audit"
    telco_api_key: str = "dev-insecure-telco-token"
    telco_url: str = "http://127.0.0.1:8100/telco"


def key() -> str:
    """A key as the deploy README says to make one: 32 random bytes, base64url."""
    return secrets.token_urlsafe(32)


def production_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "env": "production",
        "otp_secret": key(),
        "audit_secret": key(),
        "telco_api_key": secrets.token_hex(16),
        "telco_url": "https://telco.example.vn",
        "nats_url": "tls://nats.dvcid.svc.cluster.local:4222",
        "nats_tls_ca": "/etc/dvcid/nats-ca/ca.crt",
        "mongo_url": f"mongodb://otp:{key()}@mongo-0.mongo-headless:27017/?replicaSet=rs0",
    }
    return {**values, **overrides}


def test_dev_accepts_the_development_defaults() -> None:
    assert ServiceSettings(env="dev").otp_secret.startswith("dev-insecure-")


def test_production_with_real_secrets_starts() -> None:
    settings = ServiceSettings(**production_values())
    assert settings.database_name("otp") == "dvcid_otp"


def test_production_accepts_hex_and_base64_keys_of_32_bytes() -> None:
    assert ServiceSettings(**production_values(otp_secret=secrets.token_hex(32)))
    assert ServiceSettings(**production_values(otp_secret=secrets.token_urlsafe(48)))


def test_production_refuses_a_default_secret() -> None:
    with pytest.raises(ValidationError, match="DVCID_OTP_SECRET"):
        ServiceSettings(**production_values(otp_secret="dev-insecure-otp"))


@pytest.mark.parametrize("placeholder", [
    "CHANGE-ME", "changeme", "change_me", "dev-insecure-otp-secret", "secret", "password",
    "Password123", "token", "REPLACE-ME-with-a-long-random-value-from-the-vault-0001",
    "CHANGE-ME-CHANGE-ME-CHANGE-ME-CHANGE-ME-CHANGE-ME",
])
def test_production_refuses_a_placeholder_secret(placeholder: str) -> None:
    with pytest.raises(ValidationError, match=r"DVCID_OTP_SECRET \(otp_secret\) is a placeholder"):
        ServiceSettings(**production_values(otp_secret=placeholder))


@pytest.mark.parametrize("empty", ["", "   "])
def test_production_refuses_an_empty_secret(empty: str) -> None:
    with pytest.raises(ValidationError, match=r"DVCID_AUDIT_SECRET \(audit_secret\) is empty"):
        ServiceSettings(**production_values(audit_secret=empty))


@pytest.mark.parametrize("short", [
    secrets.token_urlsafe(24),   # 24 bytes, 32 characters
    secrets.token_hex(24),       # 24 bytes, 48 hex digits
    "s3cr3t-from-the-vault",
])
def test_production_refuses_a_key_shorter_than_32_random_bytes(short: str) -> None:
    with pytest.raises(ValidationError, match=r"DVCID_OTP_SECRET \(otp_secret\) is too short"):
        ServiceSettings(**production_values(otp_secret=short))


@pytest.mark.parametrize("patterned", [
    "s" * 64,
    "ab" * 32,
    "0123456789abcdef" * 4,
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
])
def test_production_refuses_a_key_that_is_long_but_not_random(patterned: str) -> None:
    with pytest.raises(ValidationError, match=r"DVCID_OTP_SECRET \(otp_secret\) is not random"):
        ServiceSettings(**production_values(otp_secret=patterned))


def test_production_refuses_the_same_value_for_two_secrets() -> None:
    shared = key()
    with pytest.raises(ValidationError, match=r"DVCID_AUDIT_SECRET.*DVCID_OTP_SECRET.*reused"):
        ServiceSettings(**production_values(otp_secret=shared, audit_secret=shared))


def test_a_credential_issued_by_another_system_needs_16_random_bytes() -> None:
    # The format of a third party's credential is theirs (a Twilio auth token is 32 hex
    # digits): 16 random bytes is the floor, placeholders and patterns are refused as keys are.
    assert ServiceSettings(**production_values(telco_api_key=secrets.token_hex(16)))
    with pytest.raises(ValidationError, match=r"DVCID_TELCO_API_KEY \(telco_api_key\) is too short"):
        ServiceSettings(**production_values(telco_api_key=secrets.token_hex(8)))
    with pytest.raises(ValidationError, match=r"DVCID_TELCO_API_KEY \(telco_api_key\) is a placeholder"):
        ServiceSettings(**production_values(telco_api_key="CHANGE-ME"))


def test_production_names_every_weak_setting_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(**production_values(otp_secret="CHANGE-ME", telco_api_key=""))
    assert "DVCID_OTP_SECRET" in str(refused.value)
    assert "DVCID_TELCO_API_KEY" in str(refused.value)


def test_production_refuses_a_placeholder_password_in_a_connection_url() -> None:
    url = "mongodb://otp:CHANGE-ME@mongo-0.mongo-headless:27017/?replicaSet=rs0"
    with pytest.raises(ValidationError, match=r"DVCID_MONGO_URL \(mongo_url\) .*placeholder"):
        ServiceSettings(**production_values(mongo_url=url))


def test_production_refuses_nats_without_tls() -> None:
    with pytest.raises(ValidationError, match="DVCID_NATS_TLS_CA"):
        ServiceSettings(**production_values(nats_tls_ca=None))


def test_production_refuses_the_sandbox_world() -> None:
    with pytest.raises(ValidationError, match="sandbox"):
        ServiceSettings(**production_values(sandbox_url="http://127.0.0.1:8100"))


def test_production_refuses_failpoints() -> None:
    with pytest.raises(ValidationError, match="failpoints"):
        ServiceSettings(**production_values(failpoints="x"))


def test_the_container_image_refuses_to_start_without_dvcid_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The image (deploy/Dockerfile) sets DVCID_IMAGE=1 and no DVCID_ENV: a pod or container
    # started without DVCID_ENV must not quietly run with the development defaults.
    monkeypatch.setenv("DVCID_IMAGE", "1")
    monkeypatch.delenv("DVCID_ENV", raising=False)
    with pytest.raises(ValidationError, match="DVCID_ENV"):
        ServiceSettings()


def test_the_container_image_runs_when_told_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DVCID_IMAGE", "1")
    monkeypatch.setenv("DVCID_ENV", "dev")  # compose.yaml says so explicitly
    assert ServiceSettings().env == "dev"


def test_outside_the_image_dev_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DVCID_IMAGE", raising=False)
    monkeypatch.delenv("DVCID_ENV", raising=False)
    assert ServiceSettings().env == "dev"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVCID_OTP_SECRET", "from-env")
    monkeypatch.setenv("DVCID_NATS_URL", "nats://nats:4222")
    monkeypatch.setenv("DVCID_NATS_TLS_CA", "/etc/dvcid/nats-ca/ca.crt")
    settings = ServiceSettings()
    assert (settings.otp_secret, settings.nats_url, settings.nats_tls_ca) == (
        "from-env", "nats://nats:4222", "/etc/dvcid/nats-ca/ca.crt")


def test_a_refused_start_does_not_print_the_secrets_it_was_given() -> None:
    # The error goes to the pod's log: it names settings, never quotes their values.
    given = production_values(otp_secret="CHANGE-ME")
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(**given)
    assert "DVCID_OTP_SECRET" in str(refused.value)
    for name in ("audit_secret", "telco_api_key", "mongo_url"):
        assert given[name] not in str(refused.value), name
