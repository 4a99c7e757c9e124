"""Configuration of the registration service (environment variables, prefix ``DVCID_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import CommonSettings


class RegistrationSettings(CommonSettings):
    # Telco subscriber registry (docs/external/telco-registry.md). The default is where the
    # sandbox world serves it in development.
    telco_url: str = "http://127.0.0.1:8100/telco"
    # Production checks it as every *_api_key (shared/settings.py): no placeholder, 16 random bytes.
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
    # How long a completing step (password, confirm, counter code) waits for profile to
    # commit the account before answering ``creating_account`` (issue 12); below the
    # gateway's RPC timeout (10 s), which also covers the password's hashing.
    account_ready_wait_seconds: float = Field(default=3.0, ge=0, le=8)
