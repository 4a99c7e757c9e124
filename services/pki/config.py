from __future__ import annotations

from shared.settings import CommonSettings


class PkiSettings(CommonSettings):
    # PEM files of the trusted root and intermediate CAs, separated by commas.
    trust_anchor_files: str = ""
