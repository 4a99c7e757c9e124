"""Settings of the demo client portal, read from the environment (prefix
``DVCID_DEMO_PORTAL_``). Development values by default: it is registered with dvcid's provider
in dev as ``demo-portal`` with this secret and ``<base URL>/callback``."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class DemoPortalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVCID_DEMO_PORTAL_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8300
    # Where browsers reach the portal (its redirect URI is <base_url>/callback); defaults to
    # http://<host>:<port>.
    base_url: str | None = None
    # The OpenID Provider: its discovery document is <issuer>/.well-known/openid-configuration.
    issuer: str = "http://127.0.0.1:8000"
    client_id: str = "demo-portal"
    client_secret: str = "dev-insecure-demo-portal-secret"
    scope: str = "openid profile"
    # What the "Đăng nhập mức độ 3" button asks for (``acr_values``): dvcid's level 3.
    step_up_acr: str = "urn:dvcid:loa:3"
    # Signs the portal's session cookie (the login's state, nonce and PKCE verifier, then the
    # claims received).
    session_secret: str = "dev-insecure-demo-portal-session-key"
    name: str = "Cổng dịch vụ công tỉnh mẫu"
    log_level: str = "INFO"

    def public_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def metadata_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
