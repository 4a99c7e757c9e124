"""Whose certificate it is: the subject's own identity, with its type, never the company an
employee's certificate also names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.pki.domain.errors import CertificateUntrusted
from services.pki.domain.identity import ORGANIZATION_IDENTIFIER, identity_of

TAX_CODE = "0100109106"


def certificate(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))


def test_the_type_travels_with_the_number() -> None:
    passport = identity_of(certificate((NameOID.USER_ID, "HC:123456789"),
                                       (NameOID.COMMON_NAME, "Phạm Thị Dung")))
    cmnd = identity_of(certificate((NameOID.USER_ID, "CMND:123456789"),
                                   (NameOID.COMMON_NAME, "Lê Văn Cường")))
    assert (passport.id_type, passport.id_number) == ("HC", "123456789")
    assert (cmnd.id_type, cmnd.id_number) == ("CMND", "123456789")
    assert passport.subject_type == cmnd.subject_type == "citizen"


def test_an_enterprise_certificate_is_the_enterprise() -> None:
    found = identity_of(certificate((NameOID.ORGANIZATION_NAME, "Công ty TNHH Sen Vàng"),
                                    (ORGANIZATION_IDENTIFIER, f"VATVN-{TAX_CODE}"),
                                    (NameOID.USER_ID, f"MST:{TAX_CODE}"),
                                    (NameOID.COMMON_NAME, "Công ty TNHH Sen Vàng")))
    assert (found.subject_type, found.id_type, found.id_number) == ("enterprise", "MST",
                                                                     TAX_CODE)


@pytest.mark.parametrize("company", [
    [(ORGANIZATION_IDENTIFIER, f"VATVN-{TAX_CODE}")],
    [(NameOID.USER_ID, f"MST:{TAX_CODE}")],
    [(ORGANIZATION_IDENTIFIER, f"VATVN-{TAX_CODE}"), (NameOID.USER_ID, f"MST:{TAX_CODE}")],
])
def test_an_employees_certificate_is_the_employees_never_the_companys(
        company: list[tuple[x509.ObjectIdentifier, str]]) -> None:
    found = identity_of(certificate((NameOID.ORGANIZATION_NAME, "Công ty TNHH Sen Vàng"),
                                    *company, (NameOID.USER_ID, "CCCD:001090123456"),
                                    (NameOID.COMMON_NAME, "Đỗ Văn Em")))
    assert (found.subject_type, found.id_type, found.id_number) == ("citizen", "CCCD",
                                                                     "001090123456")
    assert found.full_name == "Đỗ Văn Em"


@pytest.mark.parametrize("person", [
    (NameOID.SERIAL_NUMBER, "IDCVN-001090123456"),
    (NameOID.SERIAL_NUMBER, "PASVN-B1234567"),
    (NameOID.USER_ID, "CCCD:12"),  # a personal UID we cannot read is still a person
])
def test_a_person_we_cannot_read_is_nobody_not_the_company(
        person: tuple[x509.ObjectIdentifier, str]) -> None:
    with pytest.raises(CertificateUntrusted):
        identity_of(certificate((ORGANIZATION_IDENTIFIER, f"VATVN-{TAX_CODE}"), person,
                                (NameOID.COMMON_NAME, "Đỗ Văn Em")))
