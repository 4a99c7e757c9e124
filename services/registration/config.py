"""Configuration of the registration service (environment variables, prefix ``DVCID_``)."""

from __future__ import annotations

from pydantic import model_validator

from shared.settings import DEV_SECRET_PREFIX, CommonSettings


class RegistrationSettings(CommonSettings):
    # Telco subscriber registry (docs/external/telco-registry.md). The default is where the
    # sandbox world serves it in development.
    telco_url: str = "http://127.0.0.1:8100/telco"
    telco_api_key: str = "dev-insecure-telco-token"
    telco_timeout_seconds: float = 5.0
    # Key of the HMAC under which flow tokens are stored.
    flow_secret: str = "dev-insecure-flow-secret"

    @model_validator(mode="after")
    def _refuse_dev_telco_key_in_production(self) -> RegistrationSettings:
        # The base class checks *_secret / *_token names; this key is named by the contract.
        if self.env == "production" and self.telco_api_key.startswith(DEV_SECRET_PREFIX):
            raise ValueError("production refuses development secrets: telco_api_key")
        return self
