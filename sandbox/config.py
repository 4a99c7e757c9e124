"""Configuration of the sandbox world, read from the environment (prefix ``DVCID_``).

The credentials below are the ones the services use to reach the simulated systems
(``DVCID_TELCO_API_KEY``, ``DVCID_TWILIO_ACCOUNT_SID``, ``DVCID_TWILIO_AUTH_TOKEN``), so one
shared environment configures both sides. The sandbox never runs in production: its defaults
are development values on purpose.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SEED = Path(__file__).with_name("seed.json")


class SandboxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVCID_", extra="ignore")

    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8100
    log_level: str = "INFO"
    # The records loaded at start; every restart begins from this file again.
    sandbox_seed: Path = DEFAULT_SEED
    telco_api_key: str = "dev-insecure-telco-token"
    twilio_account_sid: str = "ACdvciddev0000000000000000000000"
    twilio_auth_token: str = "dev-insecure-twilio-token"
