"""Configuration of the sandbox world, read from the environment (prefix ``DVCID_``).

The credentials below are the ones the services use to reach the simulated systems
(``DVCID_TELCO_API_KEY``, ``DVCID_BHXH_API_KEY``, ``DVCID_TWILIO_ACCOUNT_SID``,
``DVCID_TWILIO_AUTH_TOKEN``), so one shared environment configures both sides. The sandbox
never runs in production: its defaults are development values on purpose.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SEED = Path(__file__).with_name("seed.json")


class VneidClientSettings(BaseModel):
    """A relying party registered with the sandbox's VNeID provider (confidential client:
    ``client_secret_basic`` or ``client_secret_post``, PKCE S256 in any case)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    name: str = ""


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
    # VNeID (sandbox/vneid): dvcid is its relying party, registered with these credentials (the
    # gateway reads the same DVCID_VNEID_CLIENT_ID / _SECRET) and its callback on the gateway.
    vneid_client_id: str = "dvcid"
    vneid_client_secret: str = "dev-insecure-vneid-secret"
    vneid_redirect_uri: str = "http://127.0.0.1:8000/vneid/callback"
    # More relying parties of VNeID (JSON list of {client_id, client_secret, redirect_uris,
    # name}); by default the demo portal as it runs by default (sandbox/demo_portal/config.py),
    # so `python -m sandbox.demo_portal` with DVCID_DEMO_PORTAL_ISSUER=<sandbox>/vneid logs in.
    vneid_extra_clients: tuple[VneidClientSettings, ...] = (VneidClientSettings(
        client_id="demo-portal", client_secret="dev-insecure-demo-portal-secret",
        redirect_uris=("http://127.0.0.1:8300/callback",), name="Cổng dịch vụ công tỉnh mẫu"),)
    # How long VNeID's codes and access tokens live, in seconds.
    vneid_code_seconds: int = 60
    vneid_token_seconds: int = 600

    def public_url(self) -> str:
        return self.sandbox_public_url or f"http://{self.sandbox_host}:{self.sandbox_port}"

    def vneid_clients(self) -> tuple[VneidClientSettings, ...]:
        dvcid = VneidClientSettings(client_id=self.vneid_client_id,
                                    client_secret=self.vneid_client_secret,
                                    redirect_uris=(self.vneid_redirect_uri,),
                                    name="Cổng Dịch vụ công Quốc gia")
        return (dvcid, *self.vneid_extra_clients)
