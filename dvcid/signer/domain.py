"""The agent's pure pieces: what a certificate on a token looks like to the page, which
signature scheme a key uses, the agent's errors, and the port every backend implements.

Only a dvcid challenge is signed (``challenge_origin``): ``b"dvcid-auth-v1\\0"``, the portal
origin, ``b"\\0"`` and a 32-byte nonce, the origin being that of the page that asks. So a
signature made through the agent is never a signature over a document.

Signatures are exactly what services/pki verifies: over the challenge bytes themselves, with
SHA-256; RSA PKCS#1 v1.5 (the default) or PSS (MGF1-SHA-256, salt of the digest length), or
ECDSA (DER-encoded, as cryptography and OpenSSL write it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

Algorithm = Literal["rsa-pkcs1v15-sha256", "rsa-pss-sha256", "ecdsa-sha256"]
ALGORITHMS: tuple[Algorithm, ...] = ("rsa-pkcs1v15-sha256", "rsa-pss-sha256", "ecdsa-sha256")
PSS_SALT_LENGTH = 32  # the SHA-256 digest length, what most tokens and verifiers expect
KeyKind = Literal["rsa", "ec"]


CHALLENGE_PREFIX = b"dvcid-auth-v1\0"
NONCE_BYTES = 32


def challenge_origin(challenge: bytes) -> str:
    """The portal origin inside a dvcid challenge; ChallengeFormat for any other bytes."""
    if not challenge.startswith(CHALLENGE_PREFIX) or len(challenge) < len(CHALLENGE_PREFIX) + 34:
        raise ChallengeFormat()
    origin, separator = challenge[len(CHALLENGE_PREFIX):-NONCE_BYTES - 1], \
        challenge[-NONCE_BYTES - 1:-NONCE_BYTES]
    if separator != b"\0" or not origin or not origin.isascii() or b"\0" in origin:
        raise ChallengeFormat()
    text = origin.decode("ascii")
    if not text.isprintable() or not text.startswith(("https://", "http://")):
        raise ChallengeFormat()
    return text


# --- errors ----------------------------------------------------------------------------------

class SignerError(Exception):
    """Every refusal of the agent: a stable ``code``, a Vietnamese ``detail`` for the page to
    show, and the HTTP status it answers with."""

    code = "signing_failed"
    status = 500
    detail = "Không ký được. Vui lòng thử lại."

    def __init__(self, detail: str | None = None) -> None:
        if detail is not None:
            self.detail = detail
        super().__init__(self.detail)


class InvalidRequest(SignerError):
    code = "validation_error"
    status = 422
    detail = "Yêu cầu ký không hợp lệ."


class CertificateNotFound(SignerError):
    code = "certificate_not_found"
    status = 404
    detail = "Không tìm thấy chứng thư số trên thiết bị ký số. Vui lòng cắm lại USB token."


class PinIncorrect(SignerError):
    code = "pin_incorrect"
    status = 401
    detail = "Mã PIN không đúng."


class PinLocked(SignerError):
    code = "pin_locked"
    status = 423
    detail = ("Mã PIN đã bị khóa do nhập sai nhiều lần. Vui lòng liên hệ nhà cung cấp chứng thư "
              "số để mở khóa.")


class TokenUnavailable(SignerError):
    code = "token_unavailable"
    status = 503
    detail = ("Không kết nối được thiết bị ký số. Vui lòng kiểm tra USB token và trình điều khiển "
              "(driver) của nhà cung cấp.")


class KeyMismatch(SignerError):
    code = "key_not_found"
    status = 409
    detail = "Thiết bị ký số không có khóa bí mật ứng với chứng thư số đã chọn."


class ChallengeFormat(SignerError):
    """The bytes to sign are not a dvcid challenge for the asking page: refused, so the agent
    can never be made to sign a document, a bare nonce or another site's challenge."""

    code = "challenge_format"
    status = 400
    detail = ("Chương trình ký số chỉ ký chuỗi xác thực đăng nhập của Cổng Dịch vụ công cho "
              "đúng trang đang yêu cầu. Yêu cầu ký này bị từ chối.")


class OriginForbidden(SignerError):
    code = "origin_forbidden"
    status = 403
    detail = "Trang web này không được phép dùng chương trình ký số."


# --- certificates ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenInfo:
    """A token (or PKCS#12 file) as the status endpoint shows it. The PIN flags come from the
    token itself: its own lockout counts the wrong PINs."""

    backend: str
    label: str
    serial: str = ""
    manufacturer: str = ""
    model: str = ""
    pin_count_low: bool = False
    pin_final_try: bool = False
    pin_locked: bool = False
    protected_authentication_path: bool = False

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CertificateOnToken:
    """A signing certificate and where its key lives. ``id`` is the certificate's SHA-256
    fingerprint: stable across restarts and backends, and tells nothing the PEM does not."""

    certificate: x509.Certificate
    backend: str
    token_label: str
    chain: tuple[x509.Certificate, ...] = field(default=())
    # Where the backend finds the key again: the token's serial and the objects' CKA_ID.
    token_serial: str = ""
    key_id: bytes = b""
    # The token asks for its PIN itself (PKCS#11 protected authentication path: a PIN pad or
    # the driver's own dialog): the page asks for no PIN and none crosses the browser.
    pin_pad: bool = False

    @property
    def id(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def as_dict(self) -> dict[str, object]:
        cert = self.certificate
        return {
            "id": self.id,
            "backend": self.backend,
            "token_label": self.token_label,
            "subject_cn": _first(cert.subject, NameOID.COMMON_NAME),
            "uid": _first(cert.subject, NameOID.USER_ID),
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "issuer_cn": _first(cert.issuer, NameOID.COMMON_NAME),
            "serial": format(cert.serial_number, "x"),
            "not_before": _iso(cert.not_valid_before_utc),
            "not_after": _iso(cert.not_valid_after_utc),
            "key_type": key_kind(cert),
            "pin_pad": self.pin_pad,
            "certificate_pem": pem_of(cert),
        }


@dataclass(frozen=True)
class Signed:
    signature: bytes
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    algorithm: Algorithm


class SigningBackend(Protocol):
    """A place keys live: a PKCS#11 module's tokens, or one PKCS#12 file. Calls block (driver
    I/O, key decryption): the HTTP layer runs them in a thread."""

    name: str

    def describe(self) -> dict[str, object]: ...

    def tokens(self) -> list[TokenInfo]: ...

    def certificates(self) -> list[CertificateOnToken]: ...

    def sign(self, entry: CertificateOnToken, data: bytes, pin: str,
             algorithm: Algorithm) -> bytes: ...


# --- rules -----------------------------------------------------------------------------------

def key_kind(certificate: x509.Certificate) -> KeyKind | None:
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec"
    return None


def choose_algorithm(certificate: x509.Certificate, requested: str | None) -> Algorithm:
    """The scheme for this key: the one asked for if the key can do it, else the default
    (PKCS#1 v1.5 for RSA, ECDSA for EC)."""
    kind = key_kind(certificate)
    if kind is None:
        raise InvalidRequest("Loại khóa của chứng thư số không được hỗ trợ (chỉ RSA hoặc ECDSA).")
    allowed: tuple[Algorithm, ...] = (
        ("rsa-pkcs1v15-sha256", "rsa-pss-sha256") if kind == "rsa" else ("ecdsa-sha256",))
    if requested is None:
        return allowed[0]
    for algorithm in allowed:
        if algorithm == requested:
            return algorithm
    raise InvalidRequest(f"Thuật toán ký không phù hợp với khóa; dùng {' hoặc '.join(allowed)}.")


def is_signing_certificate(certificate: x509.Certificate) -> bool:
    """An end-entity certificate (CA certificates on a token are its chain, not a choice)."""
    try:
        return not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return True
    except ValueError:
        return False


def chain_for(leaf: x509.Certificate, others: list[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """The intermediates found beside the leaf (on the token or in the file), walking up by
    issuer name; the self-signed root is left out, the portal trusts its own."""
    chain: list[x509.Certificate] = []
    current = leaf
    while len(chain) < 8:
        parent = next((c for c in others if c.subject == current.issuer and c not in chain
                       and c != current), None)
        if parent is None or parent.subject == parent.issuer:
            break
        chain.append(parent)
        current = parent
    return tuple(chain)


def check_signature(certificate: x509.Certificate, signature: bytes, data: bytes,
                    algorithm: Algorithm) -> None:
    """Verify what the token returned before handing it out: a key that is not the
    certificate's (a token with several keys and careless IDs) becomes a clear error here
    rather than ``signature_invalid`` at the portal."""
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15() if algorithm == "rsa-pkcs1v15-sha256"
                else padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                 salt_length=padding.PSS.AUTO))
            key.verify(signature, data, pad, hashes.SHA256())
            return
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            return
    except (InvalidSignature, ValueError) as exc:
        raise KeyMismatch() from exc
    raise KeyMismatch()


def pem_of(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode(errors="replace")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
