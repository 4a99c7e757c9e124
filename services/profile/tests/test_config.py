"""The profile service's configuration: four keys of its own, each strong and distinct."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from pydantic import ValidationError

from services.profile.config import ProfileSettings

KEYS = ("session_secret", "flow_secret", "guard_secret", "audit_secret")


def production(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: secrets.token_urlsafe(32) for name in KEYS}
    values.update(env="production", telco_api_key=secrets.token_hex(16),
                  telco_url="https://telco.example.vn/telco",
                  nats_tls_ca="/etc/dvcid/nats-ca/ca.crt")
    return {**values, **overrides}


def test_production_accepts_its_own_strong_keys() -> None:
    assert ProfileSettings(**production()).env == "production"


@pytest.mark.parametrize("name", KEYS)
def test_production_refuses_each_key_left_at_its_development_default(name: str) -> None:
    values = production()
    del values[name]
    with pytest.raises(ValidationError, match=f"DVCID_{name.upper()}"):
        ProfileSettings(**values)


def test_production_refuses_the_audit_key_reused_as_the_session_key() -> None:
    # One key for two purposes: whoever learns it for one forges the other.
    key = secrets.token_urlsafe(32)
    with pytest.raises(ValidationError, match=r"DVCID_AUDIT_SECRET.*DVCID_SESSION_SECRET.*reused"):
        ProfileSettings(**production(session_secret=key, audit_secret=key))


def test_production_refuses_the_telco_key_placeholder() -> None:
    with pytest.raises(ValidationError, match="DVCID_TELCO_API_KEY"):
        ProfileSettings(**production(telco_api_key="CHANGE-ME"))
