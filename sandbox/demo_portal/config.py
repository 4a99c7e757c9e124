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
    # A file holding the client secret (0600; ``dvcid dev`` writes it when it registers the
    # portal at dvcid's provider): read instead of ``client_secret`` when set.
    client_secret_file: str | None = None
    scope: str = "openid profile"
    # What the "Đăng nhập mức độ 3" button asks for (``acr_values``): dvcid's level 3.
    step_up_acr: str = "urn:dvcid:loa:3"
    # Signs the portal's session cookie (the login's state, nonce and PKCE verifier, then the
    # claims received).
    session_secret: str = "dev-insecure-demo-portal-session-key"
    name: str = "Cổng dịch vụ công tỉnh mẫu"
    # The login button's text ("Đăng nhập bằng tài khoản Cổng DVCQG" against dvcid).
    login_label: str = "Đăng nhập"
    log_level: str = "INFO"

    def public_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def metadata_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"

    def secret(self) -> str:
        if self.client_secret_file:
            with open(self.client_secret_file, encoding="utf-8") as secret_file:
                return secret_file.read().strip()
        return self.client_secret
