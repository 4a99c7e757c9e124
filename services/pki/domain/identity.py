"""Who a certificate names, read the way Vietnamese CAs write it.

Vietnamese CAs put the identity in the subject's UID attribute (OID 0.9.2342.19200300.100.1.1,
which Python prints as the raw OID): ``CMND:<9|12 digits>``, ``CCCD:<12 digits>``,
``HC:<passport number>``, ``MST:<10 digits>`` or ``MST:<10 digits>-<3 digits>`` (a branch).
Enterprise certificates may instead (or also) carry organizationIdentifier (OID 2.5.4.97)
``VATVN-<tax code>`` (ETSI EN 319 412-1 semantics). The full name is the CN.

Whose certificate it is, is the subject's own identity, never an organisation it mentions:
a certificate that names a person (a CCCD/CMND/passport UID, or an ETSI natural-person
serialNumber ``IDC…``/``PAS…``/``PNO…``) is that citizen's, even when it also carries the
company the person works for (O, 2.5.4.97 ``VATVN-…``, even an ``MST:`` UID): an employee's
certificate must never speak for the company. Only a certificate whose subject is the
enterprise itself (a tax code and no person) is an enterprise's.

The type always travels with the number (``id_type``): ``HC:123456789`` and
``CMND:123456789`` are two different people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier
from stdnum.exceptions import ValidationError
from stdnum.vn import mst

from services.pki.domain.errors import CertificateUntrusted

ORGANIZATION_IDENTIFIER = ObjectIdentifier("2.5.4.97")
SubjectType = Literal["citizen", "enterprise"]

_PERSONAL = {
    "CCCD": re.compile(r"^\d{12}$"),
    "CMND": re.compile(r"^(\d{9}|\d{12})$"),
    "HC": re.compile(r"^[A-Z0-9]{6,12}$"),
}
_TAX_CODE = re.compile(r"^(\d{10})(?:-(\d{3}))?$")
# ETSI EN 319 412-1 natural-person identifiers in serialNumber: passport, national identity
# card, national personal number (e.g. ``IDCVN-001090123456``).
_NATURAL_PERSON_SERIAL = re.compile(r"^(PAS|IDC|PNO)[A-Z]{2}[:-]", re.IGNORECASE)
_UID_VALUE = re.compile(r"^\s*([A-Za-z]+)\s*[:=]\s*(.+?)\s*$")


@dataclass(frozen=True)
class CertificateIdentity:
    subject_type: SubjectType
    id_type: str  # CCCD, CMND, HC or MST
    id_number: str  # the personal number, or the tax code for an enterprise
    full_name: str

    def as_dict(self) -> dict[str, str]:
        data = {"id_type": self.id_type, "id_number": self.id_number, "full_name": self.full_name}
        if self.subject_type == "enterprise":
            data["tax_code"] = self.id_number
        return data


@lru_cache(maxsize=4096)
def identity_of(certificate: x509.Certificate) -> CertificateIdentity:
    """The certificate's holder, or CertificateUntrusted. A pure function of the certificate
    (keyed by its DER), so a found identity is remembered: a certificate comes back at every
    login; a refusal is not remembered (``lru_cache`` keeps no exception)."""
    subject = certificate.subject
    full_name = _first(subject, NameOID.COMMON_NAME) or _first(subject, NameOID.ORGANIZATION_NAME)
    personal: tuple[str, str] | None = None
    tax_code: str | None = None
    for raw in _values(subject, NameOID.USER_ID):
        match = _UID_VALUE.match(raw)
        if not match:
            continue
        kind, number = match.group(1).upper(), re.sub(r"[\s.]", "", match.group(2)).upper()
        if kind == "MST":
            tax_code = tax_code or _tax_code(number)
        elif kind in _PERSONAL and _PERSONAL[kind].match(number) and personal is None:
            personal = (kind, number)
    for raw in _values(subject, ORGANIZATION_IDENTIFIER):
        if raw.upper().startswith("VATVN-"):
            tax_code = tax_code or _tax_code(raw[6:].strip())
    if not full_name or not full_name.strip():
        raise _no_identity()
    if personal is not None:
        # A person's certificate, whatever company it also names.
        return CertificateIdentity("citizen", personal[0], personal[1], full_name.strip())
    if tax_code is not None and not _names_a_person(subject):
        return CertificateIdentity("enterprise", "MST", tax_code, full_name.strip())
    raise _no_identity()


def _names_a_person(subject: x509.Name) -> bool:
    """A natural person's identifier we cannot read as CCCD/CMND/HC: such a certificate is
    still a person's, so it is nobody's here rather than the company's."""
    if any(_NATURAL_PERSON_SERIAL.match(value.strip())
           for value in _values(subject, NameOID.SERIAL_NUMBER)):
        return True
    for raw in _values(subject, NameOID.USER_ID):
        match = _UID_VALUE.match(raw)
        if match and match.group(1).upper() in _PERSONAL:
            return True  # a personal UID in a form we refused above
    return False


def _tax_code(raw: str) -> str | None:
    match = _TAX_CODE.match(raw)
    if not match:
        return None
    try:
        mst.validate(match.group(1))
    except ValidationError:
        return None
    return raw


def _values(name: x509.Name, oid: ObjectIdentifier) -> list[str]:
    values = []
    for attribute in name.get_attributes_for_oid(oid):
        value = attribute.value
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        values.append(value)
    return values


def _first(name: x509.Name, oid: ObjectIdentifier) -> str | None:
    values = _values(name, oid)
    return values[0] if values else None


def _no_identity() -> CertificateUntrusted:
    return CertificateUntrusted(
        "Chứng thư số không chứa thông tin định danh hợp lệ (CCCD, CMND, hộ chiếu hoặc mã số "
        "thuế). Vui lòng dùng chứng thư số cấp cho cá nhân hoặc doanh nghiệp.")
