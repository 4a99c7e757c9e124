"""The agent over PKCS#11 with a real token driver: SoftHSM2 (Debian's softhsm2, installed by
.ci/run), a token initialised in a temporary folder, holding keys and certificates minted by
the sandbox CA the way a Vietnamese CA personalises a USB token (key and certificate with the
same CKA_ID, the issuing CA certificate beside them)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dvcid.signer.domain import Algorithm, CertificateOnToken, check_signature
from dvcid.signer.pkcs11_backend import Pkcs11Backend, _private_key, _sign
from dvcid.signer.tests.conftest import (
    PORTAL,
    ClientFactory,
    assert_portal_accepts,
    new_challenge,
    sign,
)
from sandbox.ca import Issued, SandboxCA

SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
PIN, SO_PIN, LABEL = "246810", "13579135", "VNPT-CA Token"



@pytest.fixture(scope="module", autouse=True)
def softhsm_installed() -> None:
    """A missing SoftHSM2 fails these tests, never skips them: a green run has run them."""
    if not Path(SOFTHSM).exists() or shutil.which("softhsm2-util") is None:
        pytest.fail(f"SoftHSM2 is missing ({SOFTHSM}): install it with "
                    "`sudo apt-get install -y softhsm2` (`make test` does it when run as root "
                    "on Debian)", pytrace=False)


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory: pytest.TempPathFactory, ca: SandboxCA, citizen: Issued,
            enterprise: Issued) -> Iterator[str]:
    """A SoftHSM token in a temporary folder, personalised with both certificates. The driver
    reads SOFTHSM2_CONF when it is initialised, so the variable stays set for the module and
    the driver is unloaded after it."""
    import pkcs11

    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", LABEL,
                        "--pin", PIN, "--so-pin", SO_PIN], check=True, capture_output=True)
        token = pkcs11.lib(SOFTHSM).get_token(token_label=LABEL)
        with token.open(rw=True, user_pin=PIN) as session:
            _personalise(pkcs11, session, citizen, b"\x01", "Nguyen Van An")
            _personalise(pkcs11, session, enterprise, b"\x02", "Cong ty Sao Mai")
            issuing = x509.load_pem_x509_certificate(ca.issuing_pem().encode())
            session.create_object({
                **pkcs11.util.x509.decode_x509_certificate(
                    issuing.public_bytes(serialization.Encoding.DER)),
                pkcs11.Attribute.TOKEN: True, pkcs11.Attribute.LABEL: "CA"})
        yield SOFTHSM
    finally:
        pkcs11.unload(SOFTHSM)
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


def _personalise(pkcs11: Any, session: Any, issued: Issued, key_id: bytes, label: str) -> None:
    key_der = issued.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption())
    key_attributes = (pkcs11.util.rsa.decode_rsa_private_key(key_der)
                      if isinstance(issued.private_key, rsa.RSAPrivateKey)
                      else pkcs11.util.ec.decode_ec_private_key(key_der))
    session.create_object({
        **key_attributes, pkcs11.Attribute.ID: key_id, pkcs11.Attribute.LABEL: label,
        pkcs11.Attribute.TOKEN: True, pkcs11.Attribute.PRIVATE: True,
        pkcs11.Attribute.SENSITIVE: True, pkcs11.Attribute.SIGN: True})
    session.create_object({
        **pkcs11.util.x509.decode_x509_certificate(
            issued.certificate.public_bytes(serialization.Encoding.DER)),
        pkcs11.Attribute.ID: key_id, pkcs11.Attribute.LABEL: label,
        pkcs11.Attribute.TOKEN: True})


async def test_lists_the_certificates_on_the_token(make_client: ClientFactory, softhsm: str,
                                                   citizen: Issued, enterprise: Issued) -> None:
    client = make_client([Pkcs11Backend(softhsm)])
    body = (await client.get("/v1/certificates", headers={"Origin": PORTAL})).json()
    by_serial = {entry["serial"]: entry for entry in body["certificates"]}
    # The CA certificate on the token is the chain, not a choice.
    assert set(by_serial) == {citizen.serial, enterprise.serial}
    person = by_serial[citizen.serial]
    assert person["subject_cn"] == "Nguyễn Văn An"
    assert person["uid"] == "CCCD:001090123456"
    assert person["token_label"] == LABEL
    assert person["issuer_cn"] == "DVCID Sandbox Issuing CA"
    assert person["certificate_pem"] == citizen.certificate_pem()
    assert by_serial[enterprise.serial]["uid"] == "MST:0100109106"
    status = (await client.get("/v1/status")).json()
    assert status["backends"] == [{"type": "pkcs11", "module": softhsm, "available": True}]
    [token] = [t for t in status["tokens"] if t["label"] == LABEL]
    assert token["manufacturer"] == "SoftHSM project" and token["pin_locked"] is False


@pytest.mark.parametrize(("who", "algorithm"), [
    ("citizen", None), ("citizen", "rsa-pss-sha256"), ("enterprise", None)])
async def test_signature_is_what_the_portal_accepts(
        make_client: ClientFactory, softhsm: str, ca: SandboxCA, who: str,
        algorithm: str | None, request: pytest.FixtureRequest) -> None:
    issued: Issued = request.getfixturevalue(who)
    client = make_client([Pkcs11Backend(softhsm)])
    entry = await _entry(client, issued)
    challenge = new_challenge()
    extra = {"algorithm": algorithm} if algorithm else {}
    response = await sign(client, entry["id"], challenge, PIN, **extra)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["certificate"] == issued.certificate_pem()
    assert body["chain"] == [ca.issuing_pem()]
    assert body["algorithm"] == algorithm or body["algorithm"] in ("rsa-pkcs1v15-sha256",
                                                                   "ecdsa-sha256")
    assert response.headers["access-control-allow-origin"] == PORTAL
    assert_portal_accepts(ca, body, challenge)


async def test_wrong_pin_is_refused(make_client: ClientFactory, softhsm: str,
                                    citizen: Issued) -> None:
    client = make_client([Pkcs11Backend(softhsm)])
    entry = await _entry(client, citizen)
    response = await sign(client, entry["id"], new_challenge(), "999999")
    assert response.status_code == 401
    assert response.json()["code"] == "pin_incorrect"
    assert "999999" not in response.text
    assert (await sign(client, entry["id"], new_challenge(), "")).status_code == 422
    # The right PIN still works (SoftHSM keeps no lockout counter; a real token's applies).
    assert (await sign(client, entry["id"], new_challenge(), PIN)).status_code == 200


async def test_foreign_origin_cannot_use_the_token(make_client: ClientFactory, softhsm: str,
                                                   citizen: Issued) -> None:
    client = make_client([Pkcs11Backend(softhsm)])
    entry = await _entry(client, citizen)
    response = await client.post("/v1/sign", headers={"Origin": "https://evil.example"}, json={
        "certificate_id": entry["id"], "challenge": "AAAA", "pin": PIN})
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("who", ["citizen", "enterprise"])
def test_tokens_with_only_raw_mechanisms(softhsm: str, who: str,
                                         request: pytest.FixtureRequest) -> None:
    """Many vendor tokens offer only CKM_RSA_PKCS / CKM_RSA_PKCS_PSS / CKM_ECDSA: the agent
    hashes, then signs the digest (with the DigestInfo for PKCS#1 v1.5)."""
    import pkcs11

    issued: Issued = request.getfixturevalue(who)
    raw = {pkcs11.Mechanism.RSA_PKCS, pkcs11.Mechanism.RSA_PKCS_PSS, pkcs11.Mechanism.ECDSA}
    entry = CertificateOnToken(issued.certificate, "pkcs11", LABEL)  # no CKA_ID: key by match
    algorithms: list[Algorithm] = (["rsa-pkcs1v15-sha256", "rsa-pss-sha256"]
                                   if who == "citizen" else ["ecdsa-sha256"])
    token = pkcs11.lib(softhsm).get_token(token_label=LABEL)
    with token.open(user_pin=PIN) as session:
        key = _private_key(pkcs11, session, entry)
        for algorithm in algorithms:
            data = new_challenge()
            signature = _sign(pkcs11, key, raw, data, algorithm, issued.certificate)
            check_signature(issued.certificate, signature, data, algorithm)


async def test_missing_driver_is_reported_not_fatal(make_client: ClientFactory,
                                                    tmp_path: Path) -> None:
    client = make_client([Pkcs11Backend(str(tmp_path / "libvendor.so"))])
    status = (await client.get("/v1/status")).json()
    assert status["backends"][0]["available"] is False
    assert status["backends"][0]["error"] == "token_unavailable"
    assert (await client.get("/v1/certificates")).json() == {"certificates": []}


async def _entry(client: Any, issued: Issued) -> dict[str, Any]:
    body = (await client.get("/v1/certificates")).json()
    return next(e for e in body["certificates"] if e["serial"] == issued.serial)
