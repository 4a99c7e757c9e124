"""Trusted CA certificates loaded from the configured PEM files."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509


def load_trust_anchors(files: str) -> list[x509.Certificate]:
    anchors: list[x509.Certificate] = []
    for name in filter(None, (f.strip() for f in files.split(","))):
        anchors.extend(x509.load_pem_x509_certificates(Path(name).read_bytes()))
    return anchors
