"""The pki service's configuration: the SIM signature provider's token is a real one."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from pydantic import ValidationError

from services.pki.config import PkiSettings

PRODUCTION: dict[str, Any] = {"env": "production", "portal_origin": "https://dichvucong.gov.vn",
                              "mobile_signature_token": secrets.token_urlsafe(24),
                              "nats_tls_ca": "/etc/dvcid/nats-ca/ca.crt"}


def test_production_accepts_a_real_token() -> None:
    assert PkiSettings(**PRODUCTION).env == "production"


@pytest.mark.parametrize("weak", ["CHANGE-ME", "dev-insecure-mobile-signature-token", "",
                                  "token", secrets.token_hex(8)])
def test_production_refuses_a_weak_provider_token(weak: str) -> None:
    with pytest.raises(ValidationError, match="DVCID_MOBILE_SIGNATURE_TOKEN"):
        PkiSettings(**{**PRODUCTION, "mobile_signature_token": weak})
