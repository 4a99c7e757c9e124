"""PKCS#12 backend: a ``.p12``/``.pfx`` file holding the key, the certificate and usually the
CA chain; the PIN is the file's password.

The file's certificates are read once when the agent starts (with no password, or with the
password asked on the terminal when the file encrypts its certificates too; the password is
not kept). Each signature decrypts the key with the PIN given for it and drops it afterwards.
A file has no lockout of its own, so the agent counts wrong passwords and refuses the file
after ``max_attempts`` in a row until it is restarted: a page cannot guess on and on.
"""

from __future__ import annotations

import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from dvcid.signer.domain import (
    PSS_SALT_LENGTH,
    Algorithm,
    CertificateOnToken,
    KeyMismatch,
    PinIncorrect,
    PinLocked,
    TokenInfo,
    TokenUnavailable,
    chain_for,
    is_signing_certificate,
)

DEFAULT_MAX_ATTEMPTS = 5


class PasswordNeeded(Exception):
    """The file encrypts its certificates: its password is needed to list them."""


class Pkcs12Backend:
    def __init__(self, path: Path, read_password: str | None = None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        self.path = path
        self.name = f"pkcs12:{path.name}"
        self.max_attempts = max_attempts
        self._failures = 0
        self._lock = threading.Lock()
        self._entries = self._read_certificates(read_password)

    @staticmethod
    def needs_password(path: Path) -> bool:
        try:
            pkcs12.load_pkcs12(path.read_bytes(), None)
        except ValueError:
            return True
        return False

    def describe(self) -> dict[str, object]:
        return {"type": "pkcs12", "file": str(self.path)}

    def tokens(self) -> list[TokenInfo]:
        return [TokenInfo(backend=self.name, label=self.path.name,
                          pin_locked=self._failures >= self.max_attempts,
                          pin_final_try=self._failures == self.max_attempts - 1)]

    def certificates(self) -> list[CertificateOnToken]:
        return list(self._entries)

    def sign(self, entry: CertificateOnToken, data: bytes, pin: str,
             algorithm: Algorithm) -> bytes:
        with self._lock:
            if self._failures >= self.max_attempts:
                raise PinLocked("Đã nhập sai mật khẩu tệp chứng thư số quá nhiều lần. Vui lòng "
                                "khởi động lại chương trình ký số.")
            try:
                bundle = pkcs12.load_pkcs12(self._read(), pin.encode())
            except ValueError as exc:
                self._failures += 1
                raise PinIncorrect("Mật khẩu (mã PIN) của tệp chứng thư số không đúng.") from exc
            self._failures = 0
        key = bundle.key
        if bundle.cert is None or bundle.cert.certificate != entry.certificate:
            raise KeyMismatch()
        if isinstance(key, rsa.RSAPrivateKey):
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15() if algorithm == "rsa-pkcs1v15-sha256"
                else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH))
            return key.sign(data, pad, hashes.SHA256())
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(hashes.SHA256()))
        raise KeyMismatch()

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise TokenUnavailable(f"Không đọc được tệp chứng thư số {self.path.name}.") from exc

    def _read_certificates(self, password: str | None) -> tuple[CertificateOnToken, ...]:
        try:
            bundle = pkcs12.load_pkcs12(self._read(), password.encode() if password else None)
        except ValueError as exc:
            raise PasswordNeeded(str(self.path)) from exc
        if bundle.cert is None or not is_signing_certificate(bundle.cert.certificate):
            return ()
        leaf = bundle.cert.certificate
        others: list[x509.Certificate] = [c.certificate for c in bundle.additional_certs]
        return (CertificateOnToken(leaf, self.name, self.path.name, chain_for(leaf, others)),)
