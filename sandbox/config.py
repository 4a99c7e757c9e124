"""Configuration of the sandbox world, read from the environment (prefix ``DVCID_``).

The credentials below are the ones the services use to reach the simulated systems
(``DVCID_TELCO_API_KEY``, ``DVCID_BHXH_API_KEY``, ``DVCID_TWILIO_ACCOUNT_SID``,
``DVCID_TWILIO_AUTH_TOKEN``), so one shared environment configures both sides. The sandbox
never runs in production: its defaults are development values on purpose.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SEED = Path(__file__).with_name("seed.json")


class SandboxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVCID_", extra="ignore")

    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8100
    # The mail server's SMTP port (sandbox/mail.py); None: no mail server.
    sandbox_smtp_port: int | None = None
    log_level: str = "INFO"
    # The records loaded at start; every restart begins from this file again.
    sandbox_seed: Path = DEFAULT_SEED
    telco_api_key: str = "dev-insecure-telco-token"
    bhxh_api_key: str = "dev-insecure-bhxh-token"
    twilio_account_sid: str = "ACdvciddev0000000000000000000000"
    twilio_auth_token: str = "dev-insecure-twilio-token"
    # Where the sandbox CA keeps its keys and writes root.pem / issuing.pem (the files the pki
    # service is configured to trust); without it the CA lives in memory only.
    sandbox_ca_dir: Path | None = None
    # The address written into certificates (CRL distribution point, OCSP); defaults to
    # http://<sandbox_host>:<sandbox_port>.
    sandbox_public_url: str | None = None
    # How long a CRL or OCSP answer is fresh (nextUpdate), in seconds.
    sandbox_ca_freshness_seconds: int = 300
    # How long the simulated SIM waits for its owner before answering TIMEOUT, in seconds.
    sandbox_sim_timeout_seconds: float = 120.0
    # The relying party token the SIM signature provider expects (pki's
    # DVCID_MOBILE_SIGNATURE_TOKEN).
    mobile_signature_token: str = "dev-insecure-mobile-signature-token"

    def public_url(self) -> str:
        return self.sandbox_public_url or f"http://{self.sandbox_host}:{self.sandbox_port}"
