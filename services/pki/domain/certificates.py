"""Pure certificate and signature rules: parsing what a client sent, the validity window,
the key usage, path building to a trust anchor, and signature verification.

Path building and chain validation use cryptography's ``x509.verification`` (the Rust
implementation of RFC 5280 path validation). Its end-entity policy is relaxed on purpose:
Vietnamese signing certificates often carry no extendedKeyUsage clientAuth and no
subjectAltName, which the web-PKI client profile would require; CA certificates keep the
web-PKI CA profile (basicConstraints, keyUsage keyCertSign, path length). What the relaxed
end-entity policy no longer checks, this module checks itself: the key usage allows signing.

Validations are CPU-bound (a few hundred microseconds each, most of it the CA signatures of the
path), and the same certificates come back again and again (every login with the same USB
token). What is a pure function of the certificates is therefore remembered, bounded and
keyed by the exact certificates (their DER: ``x509.Certificate`` hashes and compares its
encoding): the verified path of a leaf and the chain it came with (reused only while every
certificate on it is within its validity period, the verifier's only time-dependent check),
and a certificate's key usage verdict and facts. A refusal is never remembered: a refused path
or certificate is checked afresh every time.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store

from services.pki.domain.errors import (
    CertificateExpired,
    CertificateNotForSigning,
    CertificateUntrusted,
    InvalidInput,
    SignatureInvalid,
)

MAX_CERTIFICATE_BYTES = 16 * 1024
MAX_CHAIN_LENGTH = 8
MAX_SIGNATURE_BYTES = 2048
MAX_CHAIN_DEPTH = 6
# Verified paths (leaf + the chain sent with it) and certificates whose key usage and facts are
# remembered: about 5-7 KB each (DER and parsed names), so at most a few tens of MB in all.
CACHED_PATHS = 4096
CACHED_CERTIFICATES = 4096
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


# --- input -----------------------------------------------------------------------------------

def parse_certificate(value: object, field: str = "certificate") -> x509.Certificate:
    """One certificate, PEM or base64 DER. Anything else is a validation error, never a crash."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_CERTIFICATE_BYTES * 2:
        raise _bad(field, "Chứng thư số phải ở dạng PEM hoặc DER mã hóa base64.")
    data = value.strip().encode("utf-8", errors="replace")
    try:
        if data.startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(base64.b64decode(data, validate=True))
    except (ValueError, binascii.Error, UnsupportedAlgorithm, x509.InvalidVersion) as exc:
        raise _bad(field, "Không đọc được chứng thư số (PEM hoặc DER mã hóa base64).") from exc


def parse_chain(value: object) -> list[x509.Certificate]:
    """Optional intermediates: a list of PEM/DER strings, or one string of PEM blocks."""
    if value is None:
        return []
    if isinstance(value, str):
        blocks = [b.decode() for b in _PEM_CERT.findall(value.encode("utf-8", errors="replace"))]
        if not blocks and value.strip():
            blocks = [value]
        value = blocks
    if not isinstance(value, list) or len(value) > MAX_CHAIN_LENGTH:
        raise _bad("chain", f"Chuỗi chứng thư là danh sách tối đa {MAX_CHAIN_LENGTH} chứng thư PEM.")
    return [parse_certificate(item, "chain") for item in value]


def parse_signature(value: object) -> bytes:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_SIGNATURE_BYTES * 2:
        raise _bad("signature", "Chữ ký phải được mã hóa base64.")
    text = value.strip()
    try:
        # Standard or URL-safe alphabet, with or without padding.
        text = text.replace("-", "+").replace("_", "/")
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad("signature", "Chữ ký phải được mã hóa base64.") from exc


def _bad(field: str, detail: str) -> InvalidInput:
    return InvalidInput(detail, fields=[{"name": field, "detail": detail}])


# --- certificate facts ------------------------------------------------------------------------

@dataclass(frozen=True)
class CertificateFacts:
    fingerprint_sha256: str
    serial: str
    issuer: str
    not_after: datetime


@lru_cache(maxsize=CACHED_CERTIFICATES)
def facts_of(certificate: x509.Certificate) -> CertificateFacts:
    return CertificateFacts(
        fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        serial=format(certificate.serial_number, "x"),
        issuer=certificate.issuer.rfc4514_string(),
        not_after=certificate.not_valid_after_utc,
    )


# --- rules -----------------------------------------------------------------------------------

def check_validity_window(certificate: x509.Certificate, now: datetime) -> None:
    if now < certificate.not_valid_before_utc:
        raise CertificateExpired("Chứng thư số chưa đến thời gian có hiệu lực. Vui lòng thử lại "
                                 "khi chứng thư có hiệu lực hoặc dùng chứng thư số khác.")
    if now > certificate.not_valid_after_utc:
        raise CertificateExpired()


@lru_cache(maxsize=CACHED_CERTIFICATES)
def check_key_usage(certificate: x509.Certificate) -> None:
    """Signing needs digitalSignature or nonRepudiation (contentCommitment); a certificate
    without the extension states no purpose and is refused (every Vietnamese CA sets it).
    Only a pass is remembered (``lru_cache`` keeps no exception): a refusal is checked anew."""
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise CertificateNotForSigning() from exc
    except ValueError as exc:  # a malformed extension
        raise CertificateUntrusted() from exc
    if not (usage.digital_signature or usage.content_commitment):
        raise CertificateNotForSigning()


@dataclass(frozen=True)
class _VerifiedPath:
    """A path the verifier accepted, and the span in which every certificate on it is valid.

    Validity periods are the only time-dependent part of path validation, so within the span
    the same leaf and chain give a valid path again: this one (with a wider search the verifier
    might prefer another valid path, which is as good; its revocation is checked either way).
    """

    certificates: tuple[x509.Certificate, ...]
    valid_from: datetime
    valid_until: datetime

    @classmethod
    def of(cls, certificates: Sequence[x509.Certificate]) -> _VerifiedPath:
        return cls(tuple(certificates), max(c.not_valid_before_utc for c in certificates),
                   min(c.not_valid_after_utc for c in certificates))

    def valid_at(self, now: datetime) -> bool:
        return self.valid_from <= now <= self.valid_until


class TrustStore:
    """The configured trust anchors (self-signed roots) and intermediates (CA certificates
    the administrator also trusts to complete chains clients send without them).

    The anchors are parsed once (at start) and held in one ``Store``; verified paths are
    remembered per (leaf, chain) as the module docstring says, up to ``cached_paths``.
    """

    def __init__(self, certificates: Sequence[x509.Certificate],
                 cached_paths: int = CACHED_PATHS) -> None:
        self.anchors = [c for c in certificates if c.subject == c.issuer]
        self.intermediates = [c for c in certificates if c.subject != c.issuer]
        self._policy = (
            PolicyBuilder().store(Store(self.anchors)).max_chain_depth(MAX_CHAIN_DEPTH)
            .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                ee_policy=ExtensionPolicy.permit_all())
        ) if self.anchors else None
        self._cached_paths = cached_paths
        self._paths: OrderedDict[tuple[x509.Certificate, ...], _VerifiedPath] = OrderedDict()

    def __len__(self) -> int:
        return len(self.anchors) + len(self.intermediates)

    def build_path(self, leaf: x509.Certificate, chain: Sequence[x509.Certificate],
                   now: datetime) -> list[x509.Certificate]:
        """The validated path leaf → … → anchor, or CertificateUntrusted."""
        key = (leaf, *chain)
        known = self._paths.get(key)
        if known is not None and known.valid_at(now):
            return list(known.certificates)
        path = self._verify(leaf, chain, now)
        self._remember(key, _VerifiedPath.of(path))
        return path

    def _verify(self, leaf: x509.Certificate, chain: Sequence[x509.Certificate],
                now: datetime) -> list[x509.Certificate]:
        if self._policy is None:
            raise CertificateUntrusted()
        verifier = self._policy.time(now).build_client_verifier()
        try:
            verified = verifier.verify(leaf, [*chain, *self.intermediates])
        except Exception as exc:  # VerificationError, or anything odd inside a hostile chain
            raise CertificateUntrusted() from exc
        return list(verified.chain)

    def _remember(self, key: tuple[x509.Certificate, ...], path: _VerifiedPath) -> None:
        # Oldest first out, not least recently used: a hit costs no reordering (hashing the
        # key again), and a busy certificate pushed out is verified once more, no harm done.
        if self._cached_paths <= 0:
            return
        self._paths.pop(key, None)
        self._paths[key] = path
        while len(self._paths) > self._cached_paths:
            self._paths.popitem(last=False)


def verify_signature(certificate: x509.Certificate, signature: bytes, message: bytes, *,
                     prehashed: bool = False) -> None:
    """RSA PKCS#1 v1.5 or PSS with SHA-256, or ECDSA with SHA-256 (DER, or the raw r‖s that
    Web Crypto and PKCS#11 tokens produce). ``prehashed``: ``message`` is the SHA-256 digest
    (the SIM provider signs the hash it was given)."""
    algorithm: hashes.HashAlgorithm | utils.Prehashed = (
        utils.Prehashed(hashes.SHA256()) if prehashed else hashes.SHA256())
    if prehashed and len(message) != hashes.SHA256.digest_size:
        raise SignatureInvalid()
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateUntrusted() from exc
    try:
        if isinstance(key, rsa.RSAPublicKey):
            _verify_rsa(key, signature, message, algorithm)
            return
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(_ecdsa_der(key, signature), message, ec.ECDSA(algorithm))
            return
    except (InvalidSignature, ValueError) as exc:
        raise SignatureInvalid() from exc
    raise CertificateNotForSigning("Loại khóa của chứng thư số không được hỗ trợ "
                                   "(chỉ RSA hoặc ECDSA).")


def _verify_rsa(key: rsa.RSAPublicKey, signature: bytes, message: bytes,
                algorithm: hashes.HashAlgorithm | utils.Prehashed) -> None:
    try:
        key.verify(signature, message, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        key.verify(signature, message,
                   padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                               salt_length=padding.PSS.AUTO), algorithm)


def _ecdsa_der(key: ec.EllipticCurvePublicKey, signature: bytes) -> bytes:
    size = (key.curve.key_size + 7) // 8
    if len(signature) == 2 * size and signature[0] != 0x30:
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        return utils.encode_dss_signature(r, s)
    return signature


def pem_of(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()
