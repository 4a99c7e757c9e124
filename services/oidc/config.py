"""Configuration of the oidc service (environment variables prefixed ``DVCID_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import CommonSettings


class OidcSettings(CommonSettings):
    # DVCID_OIDC_ISSUER: the provider's issuer identifier, the gateway's public origin (the
    # endpoints are <issuer>/oidc/...; discovery at <issuer>/.well-known/openid-configuration).
    oidc_issuer: str = "http://127.0.0.1:8000"
    # DVCID_OIDC_SECRET: HMAC key of stored codes and access tokens, and of pairwise subjects
    # (changing it changes every subject a client knows: never rotate it casually).
    oidc_secret: str = "dev-insecure-oidc-secret"
    # DVCID_OIDC_KEYS_SECRET: seals the signing keys' private halves (AES-GCM, HKDF-derived).
    oidc_keys_secret: str = "dev-insecure-oidc-keys-secret"
    access_token_seconds: int = Field(default=600, ge=60, le=3600)
    id_token_seconds: int = Field(default=600, ge=60, le=3600)
    # A refresh token family's whole life (rotation never extends it; it ends with the session).
    refresh_token_seconds: int = Field(default=8 * 3600, ge=600, le=30 * 86_400)
    # How long a retired signing key stays in the JWKS (relying parties cache the JWKS).
    retired_key_publish_seconds: int = Field(default=86_400, ge=3600)

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if not self.oidc_issuer.startswith("https://"):
            problems.append("DVCID_OIDC_ISSUER (oidc_issuer) must be an https:// URL in "
                            "production")
        return problems
