"""Configuration of the registration service (environment variables, prefix ``DVCID_``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings import DEV_SECRET_PREFIX, CommonSettings


class RegistrationSettings(CommonSettings):
    # Telco subscriber registry (docs/external/telco-registry.md). The default is where the
    # sandbox world serves it in development.
    telco_url: str = "http://127.0.0.1:8100/telco"
    telco_api_key: str = "dev-insecure-telco-token"
    telco_timeout_seconds: float = 5.0
    # BHXH (social insurance) registry (docs/external/bhxh-registry.md).
    bhxh_url: str = "http://127.0.0.1:8100/bhxh"
    bhxh_api_key: str = "dev-insecure-bhxh-token"
    bhxh_timeout_seconds: float = 5.0
    # How often the expiry sweeper fails the flows left unfinished past their 30 minutes.
    expiry_sweep_interval_seconds: float = 15.0
    # Key of the HMAC under which flow tokens are stored.
    flow_secret: str = "dev-insecure-flow-secret"
    # Counter registrations one post-office agent may start a (Vietnamese) day.
    counter_daily_limit: int = Field(default=50, gt=0)

    @model_validator(mode="after")
    def _refuse_dev_registry_keys_in_production(self) -> RegistrationSettings:
        # The base class checks *_secret / *_token names; these keys are named by the contracts.
        for name in ("telco_api_key", "bhxh_api_key"):
            if self.env == "production" and getattr(self, name).startswith(DEV_SECRET_PREFIX):
                raise ValueError(f"production refuses development secrets: {name}")
        return self
