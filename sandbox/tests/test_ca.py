from __future__ import annotations

import base64

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp


async def test_issues_a_vietnamese_style_certificate(client: httpx.AsyncClient) -> None:
    response = await client.post("/dev/certificates", json={
        "subject_type": "enterprise", "tax_code": "0100109106-001", "full_name": "Chi nhánh A"})
    assert response.status_code == 201
    body = response.json()
    certificate = x509.load_pem_x509_certificate(body["certificate_pem"].encode())
    subject = certificate.subject.rfc4514_string()
    assert "UID=MST:0100109106-001" in subject
    assert "2.5.4.97=VATVN-0100109106-001" in subject
    assert base64.b64decode(body["pkcs12"])
    assert format(certificate.serial_number, "x") == body["serial"]


async def test_citizen_needs_an_id_number(client: httpx.AsyncClient) -> None:
    response = await client.post("/dev/certificates", json={"subject_type": "citizen",
                                                            "full_name": "An"})
    assert response.status_code == 422


async def test_revocation_shows_in_crl_and_ocsp(client: httpx.AsyncClient, app) -> None:
    body = (await client.post("/dev/certificates", json={
        "subject_type": "citizen", "id_number": "001090001234", "full_name": "Nguyễn Văn An",
        "key_type": "ec"})).json()
    assert (await client.post(f"/dev/certificates/{body['serial']}/revoke")).status_code == 200
    assert (await client.post("/dev/certificates/abc/revoke")).status_code == 404
    crl = x509.load_der_x509_crl((await client.get("/ca/issuing.crl")).content)
    serial = int(body["serial"], 16)
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    certificate = x509.load_pem_x509_certificate(body["certificate_pem"].encode())
    issuer = x509.load_pem_x509_certificate(body["chain_pem"].encode())
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1()).build()
    answer = await client.post("/ca/ocsp", content=request.public_bytes(serialization.Encoding.DER))
    response = ocsp.load_der_ocsp_response(answer.content)
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    garbage = ocsp.load_der_ocsp_response((await client.post("/ca/ocsp", content=b"xx")).content)
    assert garbage.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


async def test_a_past_not_after_alone_makes_an_expired_certificate(
        client: httpx.AsyncClient) -> None:
    # An expired certificate for the tests of expiry: the validity starts before it ends.
    response = await client.post("/dev/certificates", json={
        "subject_type": "citizen", "id_number": "001090001234", "full_name": "Nguyễn Văn An",
        "not_after": "2025-01-01T00:00:00Z"})
    assert response.status_code == 201, response.text
    certificate = x509.load_pem_x509_certificate(response.json()["certificate_pem"].encode())
    assert certificate.not_valid_before_utc < certificate.not_valid_after_utc
    assert certificate.not_valid_after_utc.year == 2025


async def test_a_future_not_before_alone_makes_a_not_yet_valid_certificate(
        client: httpx.AsyncClient) -> None:
    response = await client.post("/dev/certificates", json={
        "subject_type": "citizen", "id_number": "001090001234", "full_name": "Nguyễn Văn An",
        "not_before": "2030-01-01T00:00:00Z"})
    assert response.status_code == 201, response.text
    certificate = x509.load_pem_x509_certificate(response.json()["certificate_pem"].encode())
    assert certificate.not_valid_before_utc < certificate.not_valid_after_utc


async def test_validity_ending_before_it_starts_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/dev/certificates", json={
        "subject_type": "citizen", "id_number": "001090001234", "full_name": "Nguyễn Văn An",
        "not_before": "2026-02-01T00:00:00Z", "not_after": "2026-01-01T00:00:00Z"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
