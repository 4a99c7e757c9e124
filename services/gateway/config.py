"""Configuration of the gateway (environment, prefix ``DVCID_``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings import CommonSettings

# The sandbox VNeID's secret for dvcid (sandbox/config.py): dev and test only.
DEV_VNEID_CLIENT_SECRET = "dev-insecure-vneid-secret"


class GatewaySettings(CommonSettings):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    # Cookies carry the Secure flag everywhere but on plain-HTTP dev and test machines.
    # None means "decide from env"; set DVCID_COOKIE_SECURE to force either way.
    cookie_secure: bool | None = None
    # Seconds to wait for a service's answer before telling the client it is unavailable.
    rpc_timeout: float = 10.0
    # Seconds for a forwarded /dev call to the sandbox world.
    sandbox_timeout: float = 10.0
    # Proxies trusted to set X-Forwarded-For (uvicorn's forwarded_allow_ips): the client IP
    # recorded in the login history comes from them, never from an untrusted header.
    forwarded_allow_ips: str = "127.0.0.1"
    # Signs the web pages' cookies (the flow cookie, the per-form CSRF tokens).
    web_secret: str = "dev-insecure-web-secret"
    # The USB token signing agent (`dvcid signer`) on the citizen's own computer, which the
    # USB pages' script calls (the pages' CSP allows connecting to it).
    signer_url: str = "http://127.0.0.1:8787"
    # How long an Idempotency-Key is remembered (the TTL of the gateway's key-value bucket;
    # services/gateway/idempotency.py, whose keys derive from web_secret).
    idempotency_ttl_hours: float = Field(default=24.0, gt=0, le=24 * 7)
    # "Đăng nhập bằng VNeID" (issue 15; services/gateway/web/vneid.py, docs/external/vneid.md):
    # dvcid is a relying party of VNeID's OpenID Provider. No issuer: no VNeID button.
    vneid_issuer: str | None = None
    vneid_client_id: str = "dvcid"
    # dvcid's callback as registered at VNeID (matched exactly; the sandbox reads the same).
    vneid_redirect_uri: str = "http://127.0.0.1:8000/vneid/callback"
    # Given by VNeID. Dev and test default to the sandbox's (DEV_VNEID_CLIENT_SECRET);
    # production needs it once VNeID is on, and refuses a weak one (shared/settings.py).
    vneid_client_secret: str | None = None
    # How long a VNeID login (state, nonce, PKCE verifier) and a pending link may take.
    vneid_login_seconds: int = Field(default=600, gt=0, le=3600)

    @model_validator(mode="after")
    def _secure_cookies_outside_dev(self) -> GatewaySettings:
        if self.cookie_secure is None:
            self.cookie_secure = self.env not in ("dev", "test")
        return self

    @model_validator(mode="after")
    def _sandbox_vneid_secret_in_dev(self) -> GatewaySettings:
        if self.vneid_client_secret is None and self.env in ("dev", "test"):
            self.vneid_client_secret = DEV_VNEID_CLIENT_SECRET
        return self

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        # A session cookie sent over plain HTTP is read by anyone on the same network.
        # (None: not decided yet, becomes True in production.)
        if self.cookie_secure is False:
            problems.append("DVCID_COOKIE_SECURE (cookie_secure) is off: production sends "
                            "cookies with the Secure flag only")
        if self.vneid_issuer is not None and not self.vneid_client_secret:
            problems.append("DVCID_VNEID_CLIENT_SECRET (vneid_client_secret) is not set: "
                            "VNeID (DVCID_VNEID_ISSUER) needs dvcid's client secret")
        return problems

    @property
    def secure_cookies(self) -> bool:
        return bool(self.cookie_secure)
