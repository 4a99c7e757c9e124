"""Settings of the signing agent (environment ``DVCID_SIGNER_*``; the command's options win).

Lists are JSON in the environment, e.g.
``DVCID_SIGNER_ALLOWED_ORIGINS='["https://dichvucong.gov.vn"]'``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The only address the agent listens on: a signing service reachable from the network would
# let anyone there ask the token for signatures.
HOST = "127.0.0.1"
DEV_ORIGINS = ["http://127.0.0.1:8000"]


class NoOriginConfigured(Exception):
    """Production with no DVCID_SIGNER_ALLOWED_ORIGINS (nor --origin): refuse to start."""


class SignerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVCID_SIGNER_", extra="ignore")

    port: int = 8787
    # The portal pages allowed to call the agent (scheme://host[:port], exactly as the browser
    # sends Origin). Any other page gets no CORS headers and is refused. Empty: the dev portal
    # (``dvcid dev``), except in production, where the agent refuses to start without them:
    # a production build ships no origin anyone could have forgotten to change.
    allowed_origins: list[str] = []
    # DVCID_ENV, as every dvcid program reads it.
    env: str = Field(default="dev", validation_alias="DVCID_ENV")
    # PKCS#11 modules of the token vendors, e.g. /usr/lib/softhsm/libsofthsm2.so,
    # /usr/lib/libeTPkcs11.so, C:\\Windows\\System32\\eTPKCS11.dll.
    pkcs11_modules: list[str] = []
    pkcs12_files: list[Path] = []
    # Reads the certificates of encrypted PKCS#12 files without asking on the terminal
    # (tests, services); each signature still needs the PIN.
    pkcs12_read_password: SecretStr | None = None
    # Wrong passwords in a row before a PKCS#12 file is refused until restart.
    pkcs12_max_attempts: int = 5

    def origins(self) -> list[str]:
        """The allowed portal origins; NoOriginConfigured in production without any."""
        if self.allowed_origins:
            return self.allowed_origins
        if self.env == "production":
            raise NoOriginConfigured()
        return DEV_ORIGINS
