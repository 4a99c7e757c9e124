"""Settings of the signing agent (environment ``DVCID_SIGNER_*``; the command's options win).

Lists are JSON in the environment, e.g.
``DVCID_SIGNER_ALLOWED_ORIGINS='["https://dichvucong.gov.vn"]'``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The only address the agent listens on: a signing service reachable from the network would
# let anyone there ask the token for signatures.
HOST = "127.0.0.1"


class SignerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVCID_SIGNER_", extra="ignore")

    port: int = 8787
    # The portal pages allowed to call the agent (scheme://host[:port], exactly as the browser
    # sends Origin). Any other page gets no CORS headers and is refused.
    allowed_origins: list[str] = ["http://127.0.0.1:8000"]
    # PKCS#11 modules of the token vendors, e.g. /usr/lib/softhsm/libsofthsm2.so,
    # /usr/lib/libeTPkcs11.so, C:\\Windows\\System32\\eTPKCS11.dll.
    pkcs11_modules: list[str] = []
    pkcs12_files: list[Path] = []
    # Reads the certificates of encrypted PKCS#12 files without asking on the terminal
    # (tests, services); each signature still needs the PIN.
    pkcs12_read_password: SecretStr | None = None
    # Wrong passwords in a row before a PKCS#12 file is refused until restart.
    pkcs12_max_attempts: int = 5
