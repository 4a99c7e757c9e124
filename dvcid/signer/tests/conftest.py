"""Fixtures of the signing agent's tests: the sandbox CA (sandbox/ca.py, in-process) minting
Vietnamese-style certificates, the pki service's own verification to prove the signatures are
what the portal accepts, and an HTTP client on the agent's app."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest
from cryptography import x509

from dvcid.signer.agent import SigningAgent
from dvcid.signer.app import create_app
from dvcid.signer.domain import SigningBackend
from sandbox.ca import Issued, SandboxCA
from services.pki.domain.certificates import TrustStore, parse_chain, verify_signature

PORTAL = "http://127.0.0.1:8000"
AGENT_URL = "http://127.0.0.1:8787"


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="session")
def ca() -> SandboxCA:
    return SandboxCA("http://127.0.0.1:1", now)


@pytest.fixture(scope="session")
def citizen(ca: SandboxCA) -> Issued:
    return ca.issue(subject_type="citizen", full_name="Nguyễn Văn An", id_number="001090123456")


@pytest.fixture(scope="session")
def enterprise(ca: SandboxCA) -> Issued:
    return ca.issue(subject_type="enterprise", full_name="Công ty TNHH Sao Mai",
                    tax_code="0100109106", key_type="ec")


def new_challenge(origin: str = PORTAL) -> bytes:
    """A challenge as pki issues it: prefix, the portal origin, a 32-byte nonce."""
    return b"dvcid-auth-v1\0" + origin.encode() + b"\0" + secrets.token_bytes(32)


async def sign(client: httpx.AsyncClient, certificate_id: str, challenge: bytes, pin: str,
               **extra: object) -> httpx.Response:
    return await client.post("/v1/sign", headers={"Origin": PORTAL}, json={
        "certificate_id": certificate_id, "challenge": base64.b64encode(challenge).decode(),
        "pin": pin, **extra})


def assert_portal_accepts(ca: SandboxCA, body: dict[str, object], challenge: bytes) -> None:
    """What services/pki does with the page's answer: parse, build the path to the trusted
    root (the sandbox root only), verify the signature over the challenge bytes."""
    leaf = x509.load_pem_x509_certificate(str(body["certificate"]).encode())
    chain = parse_chain(body["chain"])
    root = x509.load_pem_x509_certificate(ca.root_pem().encode())
    path = TrustStore([root]).build_path(leaf, chain, now())
    assert path[0] == leaf
    verify_signature(leaf, base64.b64decode(str(body["signature"])), challenge)


ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """``make_client(backends, origins=None)``: an HTTP client on a fresh agent app."""
    clients: list[httpx.AsyncClient] = []

    def make(backends: list[SigningBackend], origins: list[str] | None = None) -> httpx.AsyncClient:
        app = create_app(SigningAgent(backends), origins or [PORTAL])
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=AGENT_URL)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
