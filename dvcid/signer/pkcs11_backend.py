"""PKCS#11 backend: any vendor's token driver (the ``.so``/``.dll`` the CA ships: SafeNet
eToken, ePass, Bit4id, VNPT-CA's, ... and SoftHSM2 in tests) through python-pkcs11.

Certificates are public objects, read without logging in. Signing logs in with the PIN (the
token counts wrong PINs and locks itself; the agent never retries), finds the private key with
the certificate's CKA_ID (or, for tokens written without IDs, the RSA key with the
certificate's modulus, or the token's only key of that type), and signs with the hashing
mechanism when the token has it, else hashes here and uses the raw mechanism, which every
token has. The PIN lives only for the call.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils

from dvcid.signer.domain import (
    Algorithm,
    CertificateNotFound,
    CertificateOnToken,
    InvalidRequest,
    KeyMismatch,
    PinIncorrect,
    PinLocked,
    SignerError,
    TokenInfo,
    TokenUnavailable,
    chain_for,
    is_signing_certificate,
)

# DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1), for tokens with only CKM_RSA_PKCS.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class Pkcs11Backend:
    def __init__(self, module_path: str) -> None:
        self.module_path = module_path
        self.name = f"pkcs11:{module_path}"
        # One call at a time into the driver: many vendor modules are not safely re-entrant.
        self._lock = threading.Lock()

    def describe(self) -> dict[str, object]:
        return {"type": "pkcs11", "module": self.module_path}

    def tokens(self) -> list[TokenInfo]:
        with self._driver() as pkcs11:
            return [_token_info(self.name, pkcs11, slot.get_token())
                    for slot in self._lib(pkcs11).get_slots(token_present=True)]

    def certificates(self) -> list[CertificateOnToken]:
        with self._driver() as pkcs11:
            found: list[CertificateOnToken] = []
            for slot in self._lib(pkcs11).get_slots(token_present=True):
                token = slot.get_token()
                if not token.flags & pkcs11.TokenFlag.TOKEN_INITIALIZED:
                    continue
                with token.open() as session:
                    found += self._certificates_on(pkcs11, session, token)
            return found

    def sign(self, entry: CertificateOnToken, data: bytes, pin: str,
             algorithm: Algorithm) -> bytes:
        with self._driver() as pkcs11:
            token = self._token(pkcs11, entry.token_serial)
            mechanisms = token.slot.get_mechanisms()
            with self._login(pkcs11, token, pin) as session:
                key = _private_key(pkcs11, session, entry)
                return _sign(pkcs11, key, mechanisms, data, algorithm, entry.certificate)

    # --- driver access --------------------------------------------------------------------------
    @contextmanager
    def _driver(self) -> Iterator[Any]:
        """Serialised access to the module; any PKCS#11 failure not handled more precisely
        below means the token or its driver is not usable now."""
        try:
            import pkcs11
        except ImportError as exc:  # the optional dependency is missing
            raise TokenUnavailable("Chưa cài thư viện python-pkcs11 cho chương trình ký số.") from exc
        with self._lock:
            try:
                yield pkcs11
            except SignerError:
                raise
            except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
                raise TokenUnavailable() from exc

    def _lib(self, pkcs11: Any) -> Any:
        if not Path(self.module_path).exists():
            raise TokenUnavailable(f"Không tìm thấy trình điều khiển PKCS#11: {self.module_path}")
        return pkcs11.lib(self.module_path)

    def _token(self, pkcs11: Any, serial: str) -> Any:
        for slot in self._lib(pkcs11).get_slots(token_present=True):
            token = slot.get_token()
            if _serial(token) == serial:
                return token
        raise CertificateNotFound()

    @contextmanager
    def _login(self, pkcs11: Any, token: Any, pin: str) -> Iterator[Any]:
        if token.flags & pkcs11.TokenFlag.USER_PIN_LOCKED:
            raise PinLocked()
        user_pin: object = pin
        if token.flags & pkcs11.TokenFlag.PROTECTED_AUTHENTICATION_PATH:
            # The token's own prompt (PIN pad, the driver's dialog) takes the PIN: a PIN typed
            # into a web page is never used where the token can ask for it itself.
            user_pin = pkcs11.PROTECTED_AUTH
        elif not pin:
            raise InvalidRequest("Vui lòng nhập mã PIN của thiết bị ký số.")
        try:
            session = token.open(user_pin=user_pin)
        except pkcs11.PinLocked as exc:
            raise PinLocked() from exc
        except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange) as exc:
            raise _wrong_pin(pkcs11, self._token(pkcs11, _serial(token))) from exc
        try:
            yield session
        finally:
            session.close()

    def _certificates_on(self, pkcs11: Any, session: Any, token: Any) -> list[CertificateOnToken]:
        objects: list[tuple[x509.Certificate, bytes]] = []
        for obj in session.get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE,
                                        pkcs11.Attribute.CERTIFICATE_TYPE:
                                            pkcs11.CertificateType.X_509}):
            try:
                certificate = x509.load_der_x509_certificate(obj[pkcs11.Attribute.VALUE])
            except ValueError:
                continue  # a malformed object on the token is not offered
            objects.append((certificate, _attribute(pkcs11, obj, pkcs11.Attribute.ID)))
        all_certificates = [c for c, _ in objects]
        return [CertificateOnToken(certificate, self.name, token.label.strip(),
                                   chain_for(certificate, all_certificates),
                                   token_serial=_serial(token), key_id=key_id,
                                   pin_pad=bool(token.flags
                                                & pkcs11.TokenFlag.PROTECTED_AUTHENTICATION_PATH))
                for certificate, key_id in objects if is_signing_certificate(certificate)]


# --- helpers ---------------------------------------------------------------------------------

def _token_info(backend: str, pkcs11: Any, token: Any) -> TokenInfo:
    flags = token.flags
    return TokenInfo(
        backend=backend, label=token.label.strip(), serial=_serial(token),
        manufacturer=token.manufacturer_id.strip(), model=token.model.strip(),
        pin_count_low=bool(flags & pkcs11.TokenFlag.USER_PIN_COUNT_LOW),
        pin_final_try=bool(flags & pkcs11.TokenFlag.USER_PIN_FINAL_TRY),
        pin_locked=bool(flags & pkcs11.TokenFlag.USER_PIN_LOCKED),
        protected_authentication_path=bool(
            flags & pkcs11.TokenFlag.PROTECTED_AUTHENTICATION_PATH))


def _wrong_pin(pkcs11: Any, token: Any) -> SignerError:
    """Tell what the token says about the tries left (flags re-read after the failure)."""
    flags = token.flags
    if flags & pkcs11.TokenFlag.USER_PIN_LOCKED:
        return PinLocked()
    if flags & pkcs11.TokenFlag.USER_PIN_FINAL_TRY:
        return PinIncorrect("Mã PIN không đúng. Còn một lần thử trước khi thiết bị bị khóa.")
    if flags & pkcs11.TokenFlag.USER_PIN_COUNT_LOW:
        return PinIncorrect("Mã PIN không đúng. Thiết bị sắp bị khóa nếu tiếp tục nhập sai.")
    return PinIncorrect()


def _serial(token: Any) -> str:
    serial = token.serial
    return (serial.decode(errors="replace") if isinstance(serial, bytes) else str(serial)).strip()


def _attribute(pkcs11: Any, obj: Any, attribute: Any) -> bytes:
    try:
        value = obj[attribute]
    except (pkcs11.AttributeTypeInvalid, pkcs11.AttributeSensitive):
        return b""
    return bytes(value or b"")


def _private_key(pkcs11: Any, session: Any, entry: CertificateOnToken) -> Any:
    public = entry.certificate.public_key()
    key_type = pkcs11.KeyType.RSA if isinstance(public, rsa.RSAPublicKey) else pkcs11.KeyType.EC
    query = {pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY,
             pkcs11.Attribute.KEY_TYPE: key_type}
    if entry.key_id:
        by_id = list(session.get_objects({**query, pkcs11.Attribute.ID: entry.key_id}))
        if by_id:
            return by_id[0]
    candidates = list(session.get_objects(query))
    if isinstance(public, rsa.RSAPublicKey):
        modulus = public.public_numbers().n
        for key in candidates:
            if int.from_bytes(_attribute(pkcs11, key, pkcs11.Attribute.MODULUS), "big") == modulus:
                return key
    if len(candidates) == 1:
        return candidates[0]
    raise KeyMismatch()


def _sign(pkcs11: Any, key: Any, mechanisms: set[Any], data: bytes, algorithm: Algorithm,
          certificate: x509.Certificate) -> bytes:
    M = pkcs11.Mechanism
    digest = hashlib.sha256(data).digest()
    if algorithm == "rsa-pkcs1v15-sha256":
        if M.SHA256_RSA_PKCS in mechanisms:
            return bytes(key.sign(data, mechanism=M.SHA256_RSA_PKCS))
        return bytes(key.sign(SHA256_DIGEST_INFO + digest, mechanism=M.RSA_PKCS))
    if algorithm == "rsa-pss-sha256":
        params = (M.SHA256, pkcs11.MGF.SHA256, len(digest))
        if M.SHA256_RSA_PKCS_PSS in mechanisms:
            return bytes(key.sign(data, mechanism=M.SHA256_RSA_PKCS_PSS, mechanism_param=params))
        return bytes(key.sign(digest, mechanism=M.RSA_PKCS_PSS, mechanism_param=params))
    # ECDSA: raw r‖s from the token, DER-encoded for the page (the portal accepts both).
    raw = bytes(key.sign(data, mechanism=M.ECDSA_SHA256) if M.ECDSA_SHA256 in mechanisms
                else key.sign(digest, mechanism=M.ECDSA))
    public = certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    size = (public.curve.key_size + 7) // 8
    if len(raw) != 2 * size:
        raise KeyMismatch()
    return utils.encode_dss_signature(int.from_bytes(raw[:size], "big"),
                                      int.from_bytes(raw[size:], "big"))
