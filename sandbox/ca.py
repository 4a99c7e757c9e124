"""The sandbox certificate authority: a root and an issuing CA that issue Vietnamese-style
certificates, and answer CRL and OCSP requests, the way a licensed Vietnamese CA does.

Certificates carry the identity as Vietnamese CAs put it: the UID attribute (OID
0.9.2342.19200300.100.1.1) ``CCCD:<12 digits>`` for citizens, ``MST:<tax code>`` for
enterprises (plus the organizationIdentifier 2.5.4.97 ``VATVN-<tax code>``), the name in CN.
Each leaf points at the sandbox's CRL (CRL distribution point) and OCSP responder (AIA), so
the pki service validates them with real HTTP fetches.

The CA keys are kept in ``ca_dir`` when one is configured (``DVCID_SANDBOX_CA_DIR``), so a
restarted sandbox is still the CA the services were configured to trust: ``root.pem`` (the
trust anchor to give the pki service) and ``issuing.pem`` (the intermediate). Dev and tests
only: the private keys are written unencrypted.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID, ObjectIdentifier

ORGANIZATION_IDENTIFIER = ObjectIdentifier("2.5.4.97")
KeyType = Literal["rsa", "ec"]
Revocation = Literal["both", "crl", "ocsp", "none"]
# How long a CRL or an OCSP answer may be cached by relying parties (nextUpdate).
DEFAULT_FRESHNESS = timedelta(minutes=5)
KEY_USAGES = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
              "key_agreement")


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @property
    def serial(self) -> str:
        return format(self.certificate.serial_number, "x")

    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def private_key_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()


@dataclass
class _Authority:
    certificate: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes
    revoked: dict[int, datetime] = field(default_factory=dict)


class SandboxCA:
    def __init__(self, base_url: str, clock: Callable[[], datetime],
                 ca_dir: Path | None = None, freshness: timedelta = DEFAULT_FRESHNESS) -> None:
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.freshness = freshness
        self.root, self.issuing = _load(ca_dir) if ca_dir else (None, None)
        if self.root is None or self.issuing is None:
            self.root = self._new_root()
            self.issuing = self._new_issuing(self.root)
            if ca_dir is not None:
                _save(ca_dir, self.root, self.issuing)
        self.issued: dict[int, Issued] = {}

    # --- URLs the certificates point at ------------------------------------------------------
    def crl_url(self, which: str) -> str:
        return f"{self.base_url}/ca/{which}.crl"

    @property
    def ocsp_url(self) -> str:
        return f"{self.base_url}/ca/ocsp"

    def chain_pem(self) -> str:
        return self.issuing_pem()

    def root_pem(self) -> str:
        assert self.root is not None
        return self.root.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def issuing_pem(self) -> str:
        assert self.issuing is not None
        return self.issuing.certificate.public_bytes(serialization.Encoding.PEM).decode()

    # --- issuing -----------------------------------------------------------------------------
    def issue(self, *, subject_type: str, full_name: str, id_number: str | None = None,
              id_kind: str = "CCCD", tax_code: str | None = None, key_type: KeyType = "rsa",
              not_before: datetime | None = None, not_after: datetime | None = None,
              key_usage: tuple[str, ...] = ("digital_signature", "content_commitment"),
              revocation: Revocation = "both",
              employer: tuple[str, str] | None = None) -> Issued:
        """``employer`` (name, tax code): a citizen's certificate as CAs issue it to someone
        who signs in a company's name (O and 2.5.4.97 of the company, the person's UID)."""
        assert self.issuing is not None
        not_before, not_after = _validity(self.clock(), not_before, not_after)
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
            rsa.generate_private_key(65537, 2048) if key_type == "rsa"
            else ec.generate_private_key(ec.SECP256R1()))
        builder = (
            x509.CertificateBuilder()
            .subject_name(_subject(subject_type, full_name, id_number, id_kind, tax_code,
                                   employer))
            .issuer_name(self.issuing.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(key_usage), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.issuing.key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
        )
        if revocation in ("both", "crl"):
            builder = builder.add_extension(_crl_points(self.crl_url("issuing")), critical=False)
        if revocation in ("both", "ocsp"):
            builder = builder.add_extension(x509.AuthorityInformationAccess([
                x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                       x509.UniformResourceIdentifier(self.ocsp_url))]),
                critical=False)
        issued = Issued(builder.sign(self.issuing.key, hashes.SHA256()), key)
        self.issued[issued.certificate.serial_number] = issued
        return issued

    def pkcs12(self, issued: Issued, password: str | None = None) -> str:
        assert self.issuing is not None
        encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                      else serialization.NoEncryption())
        blob = pkcs12.serialize_key_and_certificates(
            b"dvcid-sandbox", issued.private_key, issued.certificate,
            [self.issuing.certificate], encryption)
        return base64.b64encode(blob).decode()

    def revoke(self, serial_hex: str) -> bool:
        assert self.issuing is not None
        try:
            serial = int(serial_hex, 16)
        except ValueError:
            return False
        if serial not in self.issued:
            return False
        self.issuing.revoked.setdefault(serial, self.clock())
        return True

    # --- revocation services ----------------------------------------------------------------
    def crl(self, which: str) -> bytes | None:
        authority = {"root": self.root, "issuing": self.issuing}.get(which)
        if authority is None:
            return None
        now = self.clock()
        builder = (x509.CertificateRevocationListBuilder()
                   .issuer_name(authority.certificate.subject)
                   .last_update(now - timedelta(seconds=1))
                   .next_update(now + self.freshness))
        for serial, when in authority.revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial)
                .revocation_date(when).build())
        return builder.sign(authority.key, hashes.SHA256()).public_bytes(
            serialization.Encoding.DER)

    def ocsp_response(self, request_der: bytes) -> bytes:
        assert self.issuing is not None
        try:
            request = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(serialization.Encoding.DER)
        issued = self.issued.get(request.serial_number)
        if issued is None:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(serialization.Encoding.DER)
        now = self.clock()
        revoked_at = self.issuing.revoked.get(request.serial_number)
        status = ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response(cert=issued.certificate, issuer=self.issuing.certificate,
                          algorithm=request.hash_algorithm, cert_status=status,
                          this_update=now - timedelta(seconds=1),
                          next_update=now + self.freshness,
                          revocation_time=revoked_at, revocation_reason=None)
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self.issuing.certificate)
        )
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        response = builder.sign(self.issuing.key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)

    # --- the two authorities ------------------------------------------------------------------
    def _new_root(self) -> _Authority:
        key = ec.generate_private_key(ec.SECP384R1())
        name = _ca_name("DVCID Sandbox Root CA")
        now = self.clock()
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA384()))
        return _Authority(certificate, key)

    def _new_issuing(self, root: _Authority) -> _Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        now = self.clock()
        certificate = (
            x509.CertificateBuilder().subject_name(_ca_name("DVCID Sandbox Issuing CA"))
            .issuer_name(root.certificate.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1825))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                root.key.public_key()), critical=False)
            .add_extension(_crl_points(self.crl_url("root")), critical=False)
            .sign(root.key, hashes.SHA384()))
        return _Authority(certificate, key)


def _validity(now: datetime, not_before: datetime | None,
              not_after: datetime | None) -> tuple[datetime, datetime]:
    """The validity asked for, the missing end filled in around the given one: a past
    ``not_after`` alone is an expired certificate (it started a year before it ended), a
    future ``not_before`` alone one not yet valid. An end before the start is the caller's
    mistake, refused before we get here (the route answers 422)."""
    year = timedelta(days=365)
    start = not_before or min(now - timedelta(minutes=5), (not_after or now) - year)
    end = not_after or max(now, start) + year
    if end <= start:
        raise ValueError("not_after must be after not_before")
    return start, end


def _subject(subject_type: str, full_name: str, id_number: str | None, id_kind: str,
             tax_code: str | None, employer: tuple[str, str] | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if subject_type == "enterprise":
        assert tax_code
        attributes += [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, full_name),
            x509.NameAttribute(ORGANIZATION_IDENTIFIER, f"VATVN-{tax_code}"),
            x509.NameAttribute(NameOID.USER_ID, f"MST:{tax_code}"),
        ]
    else:
        assert id_number
        if employer is not None:
            attributes += [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, employer[0]),
                x509.NameAttribute(ORGANIZATION_IDENTIFIER, f"VATVN-{employer[1]}"),
            ]
        attributes.append(x509.NameAttribute(NameOID.USER_ID, f"{id_kind}:{id_number}"))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, full_name))
    return x509.Name(attributes)


def _ca_name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "DVCID Sandbox"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(usages: tuple[str, ...]) -> x509.KeyUsage:
    flags = {name: name in usages for name in KEY_USAGES}
    return x509.KeyUsage(**flags, key_cert_sign=False, crl_sign=False,
                         encipher_only=False, decipher_only=False)


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=False, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=True, crl_sign=True, encipher_only=False,
                         decipher_only=False)


def _crl_points(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)], relative_name=None, reasons=None,
        crl_issuer=None)])


def _pem_key(key: CertificateIssuerPrivateKeyTypes) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _save(ca_dir: Path, root: _Authority, issuing: _Authority) -> None:
    ca_dir.mkdir(parents=True, exist_ok=True)
    for name, authority in (("root", root), ("issuing", issuing)):
        (ca_dir / f"{name}.key").write_bytes(_pem_key(authority.key))
        (ca_dir / f"{name}.key").chmod(0o600)
        (ca_dir / f"{name}.pem").write_bytes(
            authority.certificate.public_bytes(serialization.Encoding.PEM))


def _load(ca_dir: Path) -> tuple[_Authority | None, _Authority | None]:
    authorities = []
    for name in ("root", "issuing"):
        cert, key = ca_dir / f"{name}.pem", ca_dir / f"{name}.key"
        if not cert.exists() or not key.exists():
            return None, None
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        authorities.append(_Authority(x509.load_pem_x509_certificate(cert.read_bytes()), private))
    return authorities[0], authorities[1]
