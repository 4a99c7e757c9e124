"""Attack: the signing agent as a signing oracle. A page of an allowed origin (or a script
injected into one) asked ``dvcid signer`` to sign any bytes up to 4 KiB, e.g. a contract
or a tax declaration, and the person typed the PIN believing they were logging in. Now the
agent signs only a dvcid challenge: the fixed prefix ``dvcid-auth-v1\\0``, the portal origin
that asks (the page's own Origin), ``\\0`` and a 32-byte nonce, and refuses anything else
(400 challenge_format). pki issues challenges in that format and verifies signatures over the
whole of it: a signature over the bare nonce, or over a challenge naming another origin, is
signature_invalid, so no signature made for dvcid is a signature over a document, and no
document signature is a dvcid login."""

from __future__ import annotations

import base64
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import load_pem_x509_certificate

from dvcid.devstack import DevStack
from dvcid.signer.agent import SigningAgent
from dvcid.signer.app import create_app
from dvcid.signer.pkcs12_backend import Pkcs12Backend
from services.pki.tests.signing import sign
from tests.journeys import API, client_ip, flow_headers

pytestmark = pytest.mark.e2e

PREFIX = b"dvcid-auth-v1\0"
PASSWORD = "Mk@2468"


def issue(api: httpx.Client) -> dict[str, Any]:
    response = api.post(f"{API}/dev/certificates", json={
        "subject_type": "citizen", "full_name": "Nguyễn Văn An", "key_type": "ec",
        "id_number": f"001090{random.randrange(10**6):06d}"})
    assert response.status_code == 201, response.text
    material: dict[str, Any] = response.json()
    return material


def usb_registration(api: httpx.Client) -> dict[str, Any]:
    body = {"subject_type": "citizen", "method": "usb"}
    response = api.post(f"{API}/registrations", json=body,
                        headers=client_ip(f"signer{random.random()}"))
    assert response.status_code == 201, response.text
    flow: dict[str, Any] = response.json()
    return flow


def submit(api: httpx.Client, flow: dict[str, Any], material: dict[str, Any],
           signature: str) -> httpx.Response:
    return api.post(f"{API}/registrations/{flow['id']}/signature", headers=flow_headers(flow),
                    json={"certificate": material["certificate_pem"],
                          "chain": [material["chain_pem"]], "signature": signature})


@pytest.fixture
async def signer(api: httpx.Client, stack: DevStack,
                 tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str, dict[str, Any]]]:
    """The agent's HTTP API with a PKCS#12 file of a sandbox certificate, for the portal."""
    material = issue(api)
    key = serialization.load_pem_private_key(material["private_key_pem"].encode(), None)
    certificate = load_pem_x509_certificate(material["certificate_pem"].encode())
    p12 = tmp_path / "token.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"usb", key, certificate, None,  # type: ignore[arg-type]
        serialization.BestAvailableEncryption(PASSWORD.encode())))
    backend = Pkcs12Backend(p12, read_password=PASSWORD)
    app = create_app(SigningAgent([backend]), [stack.gateway_url])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://127.0.0.1:8787") as client:
        listed = (await client.get("/v1/certificates",
                                   headers={"Origin": stack.gateway_url})).json()
        yield client, listed["certificates"][0]["id"], material


async def test_the_agent_refuses_to_sign_a_document(
        api: httpx.Client, stack: DevStack,
        signer: tuple[httpx.AsyncClient, str, dict[str, Any]]) -> None:
    client, certificate_id, material = signer
    headers = {"Origin": stack.gateway_url}
    document = b"%PDF-1.7\nHOP DONG MUA BAN: ben A chuyen 2.000.000.000 dong cho ben B\n"
    flow = usb_registration(api)
    nonce = base64.b64decode(flow["challenge"])[-32:]
    for payload in (document, nonce,
                    PREFIX + b"https://evil.example\0" + nonce,
                    PREFIX + stack.gateway_url.encode() + b"\0" + nonce[:16]):
        response = await client.post("/v1/sign", headers=headers, json={
            "certificate_id": certificate_id, "pin": PASSWORD,
            "challenge": base64.b64encode(payload).decode()})
        assert response.status_code == 400, (payload[:40], response.text)
        assert response.json()["code"] == "challenge_format"
    # The portal's own challenge is signed, and pki accepts the signature.
    response = await client.post("/v1/sign", headers=headers, json={
        "certificate_id": certificate_id, "pin": PASSWORD, "challenge": flow["challenge"]})
    assert response.status_code == 200, response.text
    accepted = submit(api, flow, material, response.json()["signature"])
    assert accepted.status_code == 200, accepted.text


def test_pki_refuses_a_signature_over_a_bare_nonce_or_another_origin(
        api: httpx.Client, stack: DevStack) -> None:
    material = issue(api)
    flow = usb_registration(api)
    challenge = base64.b64decode(flow["challenge"])
    assert challenge.startswith(PREFIX + stack.gateway_url.encode() + b"\0"), challenge[:60]
    nonce = challenge[-32:]
    for message in (nonce, PREFIX + b"https://evil.example\0" + nonce):
        refused = submit(api, flow, material, sign(material["private_key_pem"], message))
        assert refused.status_code == 400, refused.text
        assert refused.json()["code"] == "signature_invalid"
    accepted = submit(api, flow, material, sign(material["private_key_pem"], challenge))
    assert accepted.status_code == 200, accepted.text
