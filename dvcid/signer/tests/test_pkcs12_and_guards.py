"""The agent over PKCS#12 files (no driver needed), and its HTTP guards: Host, Origin, CORS
preflight, JSON only, and the PIN never coming back in an answer."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography import x509

from dvcid.signer.pkcs12_backend import PasswordNeeded, Pkcs12Backend
from dvcid.signer.tests.conftest import (
    PORTAL,
    ClientFactory,
    assert_portal_accepts,
    new_challenge,
    sign,
)
from sandbox.ca import Issued, SandboxCA
from services.pki.domain.identity import identity_of

PASSWORD = "Mk@2468"


def p12_file(tmp_path: Path, ca: SandboxCA, issued: Issued, password: str | None = PASSWORD) -> Path:
    path = tmp_path / f"{issued.serial}.p12"
    path.write_bytes(base64.b64decode(ca.pkcs12(issued, password)))
    return path


@pytest.fixture
def rsa_backend(tmp_path: Path, ca: SandboxCA, citizen: Issued) -> Pkcs12Backend:
    path = p12_file(tmp_path, ca, citizen)
    assert Pkcs12Backend.needs_password(path)
    return Pkcs12Backend(path, read_password=PASSWORD, max_attempts=3)


async def test_lists_the_certificate_of_a_pkcs12_file(make_client: ClientFactory,
                                                      rsa_backend: Pkcs12Backend,
                                                      citizen: Issued) -> None:
    client = make_client([rsa_backend])
    body = (await client.get("/v1/certificates", headers={"Origin": PORTAL})).json()
    [entry] = body["certificates"]
    assert entry["subject_cn"] == "Nguyễn Văn An"
    assert entry["uid"] == "CCCD:001090123456"
    assert entry["serial"] == citizen.serial
    assert entry["issuer_cn"] == "DVCID Sandbox Issuing CA"
    assert entry["key_type"] == "rsa"
    assert entry["not_after"].endswith("Z")
    assert entry["certificate_pem"] == citizen.certificate_pem()
    status = (await client.get("/v1/status")).json()
    assert status["backends"] == [{"type": "pkcs12", "file": str(rsa_backend.path),
                                   "available": True}]
    assert status["tokens"][0]["label"] == rsa_backend.path.name
    assert status["version"]


@pytest.mark.parametrize("algorithm", [None, "rsa-pkcs1v15-sha256", "rsa-pss-sha256"])
async def test_rsa_signature_is_what_the_portal_accepts(
        make_client: ClientFactory, rsa_backend: Pkcs12Backend, ca: SandboxCA,
        algorithm: str | None) -> None:
    client = make_client([rsa_backend])
    [entry] = (await client.get("/v1/certificates")).json()["certificates"]
    challenge = new_challenge()
    extra = {"algorithm": algorithm} if algorithm else {}
    response = await sign(client, entry["id"], challenge, PASSWORD, **extra)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["algorithm"] == (algorithm or "rsa-pkcs1v15-sha256")
    assert body["chain"] == [ca.issuing_pem()]
    assert response.headers["access-control-allow-origin"] == PORTAL
    assert_portal_accepts(ca, body, challenge)


async def test_ec_signature_and_unencrypted_file(make_client: ClientFactory, tmp_path: Path,
                                                 ca: SandboxCA, enterprise: Issued) -> None:
    path = p12_file(tmp_path, ca, enterprise, password=None)
    assert not Pkcs12Backend.needs_password(path)
    client = make_client([Pkcs12Backend(path)])
    [entry] = (await client.get("/v1/certificates")).json()["certificates"]
    assert entry["uid"] == "MST:0100109106" and entry["key_type"] == "ec"
    challenge = new_challenge()
    response = await sign(client, entry["id"], challenge, "")
    assert response.json()["algorithm"] == "ecdsa-sha256"
    assert_portal_accepts(ca, response.json(), challenge)
    leaf = response.json()["certificate"]
    assert identity_of(x509.load_pem_x509_certificate(leaf.encode())).id_number == "0100109106"
    refused = await sign(client, entry["id"], challenge, "", algorithm="rsa-pss-sha256")
    assert refused.status_code == 422


async def test_wrong_password_is_refused_then_the_file_locks(
        make_client: ClientFactory, rsa_backend: Pkcs12Backend) -> None:
    client = make_client([rsa_backend])
    [entry] = (await client.get("/v1/certificates")).json()["certificates"]
    wrong = await sign(client, entry["id"], new_challenge(), "not-the-pin-9731")
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "pin_incorrect"
    assert wrong.headers["content-type"] == "application/problem+json"
    assert "not-the-pin-9731" not in wrong.text
    # A right PIN resets the count; three wrong ones in a row lock the file until restart.
    assert (await sign(client, entry["id"], new_challenge(), PASSWORD)).status_code == 200
    for _ in range(2):
        assert (await sign(client, entry["id"], new_challenge(), "x")).status_code == 401
    assert (await client.get("/v1/status")).json()["tokens"][0]["pin_final_try"] is True
    assert (await sign(client, entry["id"], new_challenge(), "x")).status_code == 401
    locked = await sign(client, entry["id"], new_challenge(), PASSWORD)
    assert locked.status_code == 423 and locked.json()["code"] == "pin_locked"


def test_an_encrypted_file_needs_its_password_to_be_listed(tmp_path: Path, ca: SandboxCA,
                                                           citizen: Issued) -> None:
    path = p12_file(tmp_path, ca, citizen)
    with pytest.raises(PasswordNeeded):
        Pkcs12Backend(path)
    with pytest.raises(PasswordNeeded):
        Pkcs12Backend(path, read_password="wrong")


async def test_unknown_certificate_and_bad_requests(make_client: ClientFactory,
                                                    rsa_backend: Pkcs12Backend) -> None:
    client = make_client([rsa_backend])
    missing = await sign(client, "ab" * 32, new_challenge(), PASSWORD)
    assert missing.status_code == 404 and missing.json()["code"] == "certificate_not_found"
    [entry] = (await client.get("/v1/certificates")).json()["certificates"]
    for body in ({"certificate_id": entry["id"], "challenge": "***", "pin": PASSWORD},
                 {"certificate_id": entry["id"], "challenge": "", "pin": PASSWORD},
                 {"certificate_id": entry["id"], "challenge": "AAAA", "pin": 1234},
                 {"certificate_id": "", "challenge": "AAAA", "pin": PASSWORD},
                 {"certificate_id": entry["id"], "challenge": "AAAA", "pin": PASSWORD,
                  "algorithm": "md5"},
                 ["not", "an", "object"]):
        response = await client.post("/v1/sign", json=body)
        assert response.status_code == 422, body
        assert response.json()["code"] == "validation_error"
        assert PASSWORD not in response.text
    form = await client.post("/v1/sign", content=b"certificate_id=x",
                             headers={"content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 422


async def test_cors_only_for_the_portal_origin(make_client: ClientFactory,
                                               rsa_backend: Pkcs12Backend) -> None:
    client = make_client([rsa_backend])
    preflight = await client.options("/v1/sign", headers={
        "Origin": PORTAL, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
        "Access-Control-Request-Private-Network": "true"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == PORTAL
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-private-network"] == "true"
    listed = await client.get("/v1/certificates", headers={"Origin": PORTAL})
    assert listed.headers["access-control-allow-origin"] == PORTAL
    assert listed.headers["vary"] == "Origin"

    evil = "https://evil.example"
    foreign_preflight = await client.options("/v1/sign", headers={
        "Origin": evil, "Access-Control-Request-Method": "POST"})
    assert foreign_preflight.status_code == 403
    assert "access-control-allow-origin" not in foreign_preflight.headers
    [entry] = listed.json()["certificates"]
    foreign_sign = await client.post("/v1/sign", headers={"Origin": evil}, json={
        "certificate_id": entry["id"], "challenge": "AAAA", "pin": PASSWORD})
    assert foreign_sign.status_code == 403
    assert foreign_sign.json()["code"] == "origin_forbidden"
    assert "access-control-allow-origin" not in foreign_sign.headers
    foreign_read = await client.get("/v1/certificates", headers={"Origin": evil})
    assert foreign_read.status_code == 403
    assert "access-control-allow-origin" not in foreign_read.headers
    # A look-alike of the portal is another origin.
    assert (await client.get("/v1/status", headers={
        "Origin": "http://127.0.0.1:8000.evil.example"})).status_code == 403


async def test_only_local_host_names_are_served(make_client: ClientFactory,
                                                rsa_backend: Pkcs12Backend) -> None:
    """DNS rebinding: a page of rebind.example resolving to 127.0.0.1 is same-origin with the
    agent under that name; the Host header gives it away."""
    client = make_client([rsa_backend])
    rebound = await client.get("/v1/certificates", headers={"Host": "rebind.example:8787"})
    assert rebound.status_code == 403
    assert (await client.get("/v1/status", headers={"Host": "localhost:8787"})).status_code == 200


async def test_configured_origins(make_client: ClientFactory, rsa_backend: Pkcs12Backend) -> None:
    portal = "https://dichvucong.gov.vn"
    client = make_client([rsa_backend], origins=[portal])
    ok = await client.get("/v1/status", headers={"Origin": portal})
    assert ok.headers["access-control-allow-origin"] == portal
    assert (await client.get("/v1/status", headers={"Origin": PORTAL})).status_code == 403


async def test_only_a_dvcid_challenge_for_the_asking_portal_is_signed(
        make_client: ClientFactory, rsa_backend: Pkcs12Backend) -> None:
    """The agent is no signing oracle: documents, bare nonces, challenges naming another site
    (or another of the allowed portals than the page asking) are challenge_format."""
    second = "https://dichvucong.gov.vn"
    client = make_client([rsa_backend], origins=[PORTAL, second])
    [entry] = (await client.get("/v1/certificates")).json()["certificates"]
    nonce = new_challenge()[-32:]
    for payload in (b"%PDF-1.7\nHop dong mua ban...", nonce, b"\0" * 64,
                    new_challenge("https://evil.example"),
                    new_challenge()[:-1],  # a nonce one byte short
                    b"dvcid-auth-v1\0" + PORTAL.encode() + b"/" + nonce,  # no separator
                    new_challenge(second)):  # allowed portal, but not the page asking
        response = await sign(client, entry["id"], payload, PASSWORD)
        assert response.status_code == 400, payload
        assert response.json()["code"] == "challenge_format"
    assert (await sign(client, entry["id"], new_challenge(), PASSWORD)).status_code == 200
    # A local program (no Origin) may sign only a challenge of one of the allowed portals.
    local = await client.post("/v1/sign", json={
        "certificate_id": entry["id"], "pin": PASSWORD,
        "challenge": base64.b64encode(new_challenge(second)).decode()})
    assert local.status_code == 200, local.text
    local = await client.post("/v1/sign", json={
        "certificate_id": entry["id"], "pin": PASSWORD,
        "challenge": base64.b64encode(new_challenge("https://evil.example")).decode()})
    assert local.status_code == 400


def test_production_ships_no_default_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    from dvcid.signer.config import NoOriginConfigured, SignerSettings

    monkeypatch.delenv("DVCID_SIGNER_ALLOWED_ORIGINS", raising=False)
    assert SignerSettings().origins() == ["http://127.0.0.1:8000"]
    monkeypatch.setenv("DVCID_ENV", "production")
    with pytest.raises(NoOriginConfigured):
        SignerSettings().origins()
    monkeypatch.setenv("DVCID_SIGNER_ALLOWED_ORIGINS", '["https://dichvucong.gov.vn"]')
    assert SignerSettings().origins() == ["https://dichvucong.gov.vn"]
