"""Configuration of the pki service (environment variables prefixed ``DVCID_``)."""

from __future__ import annotations

from pydantic import model_validator

from services.pki.domain.challenge import DEV_PORTAL_ORIGIN, checked_origin
from shared.settings import CommonSettings


class PkiSettings(CommonSettings):
    # DVCID_TRUST_ANCHOR_FILES: PEM files of the trusted root (self-signed) and intermediate
    # CAs, separated by commas. The only way a CA becomes trusted.
    trust_anchor_files: str = ""
    # DVCID_REVOCATION_FAIL_OPEN: accept a certificate whose revocation status cannot be
    # obtained (OCSP and CRL unreachable). Closed by default: such a certificate is refused.
    revocation_fail_open: bool = False
    # DVCID_REVOCATION_TIMEOUT_SECONDS: per HTTP request to an OCSP responder or CRL host.
    revocation_timeout_seconds: float = 5.0
    # DVCID_MOBILE_SIGNATURE_URL: the SIM signature provider's REST API
    # (docs/external/mobile-signature.md); unset = SIM signature unavailable.
    mobile_signature_url: str | None = None
    # DVCID_MOBILE_SIGNATURE_RELYING_PARTY / _TOKEN: who we are to the provider.
    mobile_signature_relying_party: str = "DVCQG"
    mobile_signature_token: str = "dev-insecure-mobile-signature-token"
    mobile_signature_timeout_seconds: float = 15.0
    # DVCID_PORTAL_ORIGIN: the portal's web origin as browsers send it (scheme://host[:port]).
    # It is inside every USB challenge (domain/challenge.py): the signing agent signs only a
    # challenge naming the page that asks, and pki verifies over that same message.
    portal_origin: str = DEV_PORTAL_ORIGIN

    @model_validator(mode="after")
    def _portal_origin_named_in_production(self) -> PkiSettings:
        checked_origin(self.portal_origin)
        if self.env == "production" and self.portal_origin == DEV_PORTAL_ORIGIN:
            raise ValueError("production needs DVCID_PORTAL_ORIGIN (the portal's https origin)")
        return self
