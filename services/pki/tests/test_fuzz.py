"""Hostile certificate and signature inputs (random and mutated DER/PEM, random text) never
crash the service: every answer is a domain error with a stable code, never an internal one."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.pki.adapters.trust_store import load_trust_anchors
from services.pki.domain.certificates import TrustStore
from services.pki.domain.errors import PkiError
from services.pki.handlers import PkiService
from services.pki.tests.conftest import RunningSandbox
from services.pki.tests.fakes import FakeTransactions, FixedRevocation
from shared.clock import FrozenClock
from shared.contracts import pki as PKI
from shared.contracts.base import ContractViolation
from shared.rpc import serving

KNOWN_CODES = {"validation_error", "certificate_untrusted", "certificate_expired",
               "certificate_revoked", "certificate_not_for_signing", "signature_invalid",
               "challenge_expired", "service_unavailable"}


@pytest.fixture(scope="module")
def material(sandbox: RunningSandbox) -> dict[str, Any]:
    issued = sandbox.issue(key_type="rsa")
    der = x509.load_pem_x509_certificate(issued["certificate_pem"].encode()).public_bytes(
        serialization.Encoding.DER)
    return {**issued, "der": der, "anchors": str(sandbox.ca_dir / "root.pem")}


def mutated(data: bytes) -> st.SearchStrategy[bytes]:
    def apply(edits: list[tuple[int, int]], cut: int | None) -> bytes:
        buffer = bytearray(data)
        for position, value in edits:
            buffer[position % len(buffer)] = value
        return bytes(buffer[:cut] if cut else buffer)

    return st.builds(apply, st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                     min_size=1, max_size=8),
                     st.none() | st.integers(1, len(data)))


def as_pem(der: bytes) -> str:
    body = base64.encodebytes(der).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"


def certificate_inputs(der: bytes) -> st.SearchStrategy[Any]:
    return st.one_of(
        mutated(der).map(as_pem),
        mutated(der).map(lambda b: base64.b64encode(b).decode()),
        st.binary(max_size=600).map(as_pem),
        st.text(max_size=300),
        st.none(), st.integers(), st.lists(st.text(max_size=5), max_size=3),
    )


async def check(material: dict[str, Any], certificate: Any, chain: Any, signature: Any) -> None:
    service = PkiService(FakeTransactions(), TrustStore(load_trust_anchors(material["anchors"])),
                         FixedRevocation(), None, FrozenClock(datetime.now(UTC)))
    await service.challenge(PKI.SignatureFlow(flow_id="fuzz", purpose="login"))
    payload = {"flow_id": "fuzz", "purpose": "login", "certificate": certificate,
               "chain": chain, "signature": signature}
    try:
        # Over the endpoint, as a request arrives: its contract first, then pki's checks.
        await serving(PKI.VERIFY_SIGNATURE, service.verify_signature)(payload)
    except (PkiError, ContractViolation) as refused:
        assert refused.code in KNOWN_CODES
        refused.to_error()


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_mutated_certificates_never_crash(material: dict[str, Any], data: st.DataObject) -> None:
    certificate = data.draw(certificate_inputs(material["der"]))
    signature = data.draw(st.one_of(st.binary(max_size=300).map(
        lambda b: base64.b64encode(b).decode()), st.text(max_size=50), st.none()))
    await check(material, certificate, None, signature)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_mutated_chains_and_signatures_never_crash(material: dict[str, Any],
                                                        data: st.DataObject) -> None:
    chain_der = x509.load_pem_x509_certificate(material["chain_pem"].encode()).public_bytes(
        serialization.Encoding.DER)
    chain = data.draw(st.one_of(st.lists(certificate_inputs(chain_der), max_size=3),
                                mutated(chain_der).map(as_pem), st.none()))
    signature = data.draw(st.binary(min_size=1, max_size=600).map(
        lambda b: base64.b64encode(b).decode()))
    await check(material, material["certificate_pem"], chain, signature)


async def test_a_certificate_with_an_impossible_version_is_a_validation_error(
        material: dict[str, Any]) -> None:
    # Found by the fuzzer: cryptography raises InvalidVersion, which is not a ValueError.
    der = bytearray(material["der"])
    der[12] = 1
    with pytest.raises(PkiError) as refused:
        await check_strict(material, as_pem(bytes(der)))
    assert refused.value.code == "validation_error"


async def check_strict(material: dict[str, Any], certificate: str) -> None:
    service = PkiService(FakeTransactions(), TrustStore(load_trust_anchors(material["anchors"])),
                         FixedRevocation(), None, FrozenClock(datetime.now(UTC)))
    await service.challenge(PKI.SignatureFlow(flow_id="fuzz", purpose="login"))
    await serving(PKI.VERIFY_SIGNATURE, service.verify_signature)(
        {"flow_id": "fuzz", "purpose": "login", "certificate": certificate, "signature": "AA=="})
