"""Every acceptance and rejection of a certificate + signature, with certificates from the
sandbox CA and revocation fetched over real HTTP (CRL and OCSP served by the sandbox)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509

from services.pki.adapters.revocation import HttpRevocationChecker, create_client
from services.pki.adapters.trust_store import load_trust_anchors
from services.pki.domain.certificates import TrustStore
from services.pki.domain.errors import PkiError
from services.pki.handlers import PkiService
from services.pki.tests.conftest import RunningSandbox
from services.pki.tests.fakes import FakeTransactions
from services.pki.tests.signing import intermediate_from, leaf_from, pem, rogue_ca, sign
from shared.clock import FrozenClock
from shared.contracts import pki as PKI
from shared.rpc import serving


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with create_client(5.0) as client:
        yield client


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC))


def make_service(sandbox: RunningSandbox, http: httpx.AsyncClient, clock: FrozenClock,
                 fail_open: bool = False) -> PkiService:
    # The trust store comes from the files the sandbox wrote, as the dev stack configures it.
    trust = TrustStore(load_trust_anchors(f"{sandbox.ca_dir / 'root.pem'}"))
    return PkiService(FakeTransactions(), trust, HttpRevocationChecker(http), None, clock,
                      revocation_fail_open=fail_open)


async def sign_in(service: PkiService, issued: dict[str, Any], flow_id: str = "flow-1",
                  scheme: Any = None, data: bytes | None = None,
                  chain: Any = "default") -> dict[str, Any]:
    flow = PKI.SignatureFlow(flow_id=flow_id, purpose="registration")
    challenge = base64.b64decode((await service.challenge(flow)).challenge)
    payload = {"flow_id": flow_id, "purpose": "registration",
               "certificate": issued["certificate_pem"],
               "chain": [issued["chain_pem"]] if chain == "default" else chain,
               "signature": sign(issued["private_key_pem"], data or challenge, scheme)}
    return await verified(service, payload)


async def verified(service: PkiService, payload: dict[str, Any]) -> dict[str, Any]:
    """Over the endpoint, as a caller's request arrives: the answer as it is sent."""
    answer: dict[str, Any] = await serving(PKI.VERIFY_SIGNATURE, service.verify_signature)(payload)
    return answer


async def refused(coro: Any) -> str:
    with pytest.raises(PkiError) as caught:
        await coro
    return caught.value.code


def events(service: PkiService) -> list[str]:
    transactions = service._transactions
    assert isinstance(transactions, FakeTransactions)
    return transactions.state.event_types()


async def test_a_citizen_ec_certificate_is_accepted_at_level_3(sandbox, http, clock) -> None:
    service = make_service(sandbox, http, clock)
    issued = sandbox.issue()
    result = await sign_in(service, issued)
    assert result["subject_type"] == "citizen"
    assert result["identity"] == {"id_type": "CCCD", "id_number": "001090001234",
                                  "full_name": "Nguyễn Văn An"}
    assert result["level"] == 3 and result["serial"] == issued["serial"]
    assert len(result["fingerprint_sha256"]) == 64
    assert "DVCID Sandbox Issuing CA" in result["issuer"]
    assert events(service) == ["CertificateValidated"]


@pytest.mark.parametrize("scheme", ["pkcs1", "pss"])
async def test_rsa_signatures_pkcs1_and_pss_are_accepted(sandbox, http, clock, scheme) -> None:
    service = make_service(sandbox, http, clock)
    result = await sign_in(service, sandbox.issue(key_type="rsa"), scheme=scheme)
    assert result["level"] == 3


async def test_an_enterprise_certificate_names_the_tax_code(sandbox, http, clock) -> None:
    service = make_service(sandbox, http, clock)
    issued = sandbox.issue(subject_type="enterprise", tax_code="0100109106",
                           full_name="Công ty Cổ phần Ví dụ", id_number=None)
    result = await sign_in(service, issued)
    assert result["subject_type"] == "enterprise"
    assert result["identity"]["tax_code"] == "0100109106"
    assert result["identity"]["id_number"] == "0100109106"


async def test_the_intermediate_may_come_from_the_trust_store(sandbox, http, clock) -> None:
    trust = TrustStore(load_trust_anchors(
        f"{sandbox.ca_dir / 'root.pem'},{sandbox.ca_dir / 'issuing.pem'}"))
    service = PkiService(FakeTransactions(), trust, HttpRevocationChecker(http), None, clock)
    assert (await sign_in(service, sandbox.issue(), chain=None))["level"] == 3


async def test_expired(sandbox, http, clock) -> None:
    now = datetime.now(UTC)
    issued = sandbox.issue(not_before=(now - timedelta(days=10)).isoformat(),
                           not_after=(now - timedelta(days=1)).isoformat())
    service = make_service(sandbox, http, clock)
    assert await refused(sign_in(service, issued)) == "certificate_expired"
    assert events(service) == ["CertificateRejected"]


async def test_not_yet_valid(sandbox, http, clock) -> None:
    now = datetime.now(UTC)
    issued = sandbox.issue(not_before=(now + timedelta(days=1)).isoformat(),
                           not_after=(now + timedelta(days=30)).isoformat())
    assert await refused(sign_in(make_service(sandbox, http, clock), issued)) == "certificate_expired"


async def test_revoked_via_crl(sandbox, http, clock) -> None:
    issued = sandbox.issue(revocation="crl")
    sandbox.revoke(issued["serial"])
    assert await refused(sign_in(make_service(sandbox, http, clock), issued)) == "certificate_revoked"


async def test_revoked_via_ocsp(sandbox, http, clock) -> None:
    issued = sandbox.issue(revocation="ocsp")
    sandbox.revoke(issued["serial"])
    assert await refused(sign_in(make_service(sandbox, http, clock), issued)) == "certificate_revoked"


async def test_revoked_with_both_pointers(sandbox, http, clock) -> None:
    issued = sandbox.issue(key_type="rsa")
    sandbox.revoke(issued["serial"])
    assert await refused(sign_in(make_service(sandbox, http, clock), issued)) == "certificate_revoked"


async def test_a_certificate_for_encryption_only_cannot_sign(sandbox, http, clock) -> None:
    issued = sandbox.issue(key_usage=["key_agreement"])
    assert (await refused(sign_in(make_service(sandbox, http, clock), issued))
            == "certificate_not_for_signing")


async def test_untrusted_root(sandbox, http, clock) -> None:
    root, root_key = rogue_ca()
    certificate, key = leaf_from(root, root_key)
    issued = {"certificate_pem": certificate, "private_key_pem": key, "chain_pem": pem(root)}
    assert await refused(sign_in(make_service(sandbox, http, clock), issued)) == "certificate_untrusted"


async def test_wrong_chain_an_impostor_of_the_issuing_ca(sandbox, http, clock) -> None:
    # A rogue intermediate with the sandbox issuing CA's very name, signed by a rogue root.
    root, root_key = rogue_ca()
    real_issuing = x509.load_pem_x509_certificate(sandbox.ca.issuing_pem().encode())
    impostor, impostor_key = intermediate_from(root, root_key, real_issuing.subject)
    certificate, key = leaf_from(impostor, impostor_key)
    issued = {"certificate_pem": certificate, "private_key_pem": key, "chain_pem": pem(impostor)}
    assert await refused(sign_in(make_service(sandbox, http, clock), issued)) == "certificate_untrusted"


async def test_a_chain_that_does_not_belong_to_the_certificate(sandbox, http, clock) -> None:
    root, _ = rogue_ca()
    issued = sandbox.issue()
    assert (await refused(sign_in(make_service(sandbox, http, clock), issued, chain=[pem(root)]))
            == "certificate_untrusted")


async def test_a_signature_over_other_data(sandbox, http, clock) -> None:
    issued = sandbox.issue()
    assert (await refused(sign_in(make_service(sandbox, http, clock), issued,
                                  data=b"something else")) == "signature_invalid")


async def test_a_challenge_is_single_use(sandbox, http, clock) -> None:
    service = make_service(sandbox, http, clock)
    issued = sandbox.issue()
    flow = PKI.SignatureFlow(flow_id="flow-replay", purpose="login")
    challenge = base64.b64decode((await service.challenge(flow)).challenge)
    payload = {"flow_id": flow.flow_id, "purpose": flow.purpose,
               "certificate": issued["certificate_pem"], "chain": issued["chain_pem"],
               "signature": sign(issued["private_key_pem"], challenge)}
    await verified(service, payload)
    assert await refused(verified(service, payload)) == "challenge_expired"


async def test_a_challenge_expires_after_5_minutes(sandbox, http, clock) -> None:
    service = make_service(sandbox, http, clock)
    issued = sandbox.issue()
    flow = PKI.SignatureFlow(flow_id="flow-late", purpose="registration")
    challenge = base64.b64decode((await service.challenge(flow)).challenge)
    clock.advance(minutes=5, seconds=1)
    payload = {"flow_id": flow.flow_id, "purpose": flow.purpose,
               "certificate": issued["certificate_pem"], "chain": issued["chain_pem"],
               "signature": sign(issued["private_key_pem"], challenge)}
    assert await refused(verified(service, payload)) == "challenge_expired"


async def test_a_challenge_is_bound_to_its_flow(sandbox, http, clock) -> None:
    service = make_service(sandbox, http, clock)
    issued = sandbox.issue()
    first = await service.challenge(PKI.SignatureFlow(flow_id="flow-a", purpose="login"))
    challenge = base64.b64decode(first.challenge)
    await service.challenge(PKI.SignatureFlow(flow_id="flow-b", purpose="login"))
    payload = {"flow_id": "flow-b", "purpose": "login", "certificate": issued["certificate_pem"],
               "chain": issued["chain_pem"], "signature": sign(issued["private_key_pem"], challenge)}
    assert await refused(verified(service, payload)) == "signature_invalid"


async def test_no_revocation_answer_fails_closed_unless_configured_open(sandbox, http, clock) -> None:
    issued = sandbox.issue(revocation="none")
    assert await refused(sign_in(make_service(sandbox, http, clock), issued)) == "service_unavailable"
    open_service = make_service(sandbox, http, clock, fail_open=True)
    assert (await sign_in(open_service, issued))["level"] == 3


async def test_revocation_answers_are_cached_until_next_update(sandbox, http, clock) -> None:
    checker = HttpRevocationChecker(http)
    issued = sandbox.issue(revocation="crl")
    certificate = x509.load_pem_x509_certificate(issued["certificate_pem"].encode())
    issuer = x509.load_pem_x509_certificate(issued["chain_pem"].encode())
    now = datetime.now(UTC)
    assert (await checker.status(certificate, issuer, now)).value == "good"
    sandbox.revoke(issued["serial"])
    # Still within the CRL's nextUpdate: the cached list answers, no new fetch.
    assert (await checker.status(certificate, issuer, now)).value == "good"
    later = now + timedelta(minutes=6)
    real_clock, sandbox.ca.clock = sandbox.ca.clock, lambda: later
    try:
        # Past nextUpdate the CRL is fetched again, and the new one lists the certificate.
        assert (await checker.status(certificate, issuer, later)).value == "revoked"
    finally:
        sandbox.ca.clock = real_clock


async def test_the_challenge_is_domain_separated_and_only_the_whole_message_verifies(
        sandbox, http, clock) -> None:
    service = make_service(sandbox, http, clock)
    issued = sandbox.issue()
    flow = PKI.SignatureFlow(flow_id="flow-ds", purpose="registration")
    challenge = base64.b64decode((await service.challenge(flow)).challenge)
    head = b"dvcid-auth-v1\0http://127.0.0.1:8000\0"
    assert challenge.startswith(head) and len(challenge) == len(head) + 32
    nonce = challenge[-32:]

    def verify(message: bytes) -> Any:
        return verified(service, {
            "flow_id": "flow-ds", "purpose": "registration",
            "certificate": issued["certificate_pem"], "chain": [issued["chain_pem"]],
            "signature": sign(issued["private_key_pem"], message)})

    # A signature over this very nonce, bare (what a signing oracle could be asked for) or
    # for another site, is no proof here; the whole message is.
    for message in (nonce, b"dvcid-auth-v1\0https://evil.example\0" + nonce):
        assert await refused(verify(message)) == "signature_invalid"
    assert (await verify(challenge))["level"] == 3
