"""The agent: every configured backend behind one port. Lists what all of them hold and sends a
signing request to the backend that holds the chosen certificate."""

from __future__ import annotations

import logging

from dvcid.signer.domain import (
    CertificateNotFound,
    CertificateOnToken,
    Signed,
    SignerError,
    SigningBackend,
    TokenInfo,
    check_signature,
    choose_algorithm,
)

log = logging.getLogger("dvcid.signer")


class SigningAgent:
    def __init__(self, backends: list[SigningBackend]) -> None:
        self.backends = backends

    def status(self) -> tuple[list[dict[str, object]], list[TokenInfo]]:
        described: list[dict[str, object]] = []
        tokens: list[TokenInfo] = []
        for backend in self.backends:
            entry = backend.describe()
            try:
                tokens += backend.tokens()
                entry["available"] = True
            except SignerError as exc:
                entry.update(available=False, error=exc.code)
            described.append(entry)
        return described, tokens

    def certificates(self) -> list[CertificateOnToken]:
        """What every reachable backend holds; one whose driver fails is skipped (and shown as
        unavailable by ``status``), so a broken driver does not hide a working token."""
        found: list[CertificateOnToken] = []
        for backend in self.backends:
            try:
                found += backend.certificates()
            except SignerError as exc:
                log.warning("backend %s unavailable: %s", backend.name, exc.code)
        return found

    def sign(self, certificate_id: str, data: bytes, pin: str, algorithm: str | None) -> Signed:
        for backend in self.backends:
            try:
                entries = backend.certificates()
            except SignerError:
                continue
            entry = next((e for e in entries if e.id == certificate_id.lower()), None)
            if entry is not None:
                return _sign_with(backend, entry, data, pin, algorithm)
        raise CertificateNotFound()


def _sign_with(backend: SigningBackend, entry: CertificateOnToken, data: bytes, pin: str,
               requested: str | None) -> Signed:
    algorithm = choose_algorithm(entry.certificate, requested)
    signature = backend.sign(entry, data, pin, algorithm)
    check_signature(entry.certificate, signature, data, algorithm)
    return Signed(signature, entry.certificate, entry.chain, algorithm)
