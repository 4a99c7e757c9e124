"""The trust store remembers verified paths (domain/certificates.py): the same leaf and chain
are not verified again while every certificate on the path is valid, and nothing else changes
what is accepted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from services.pki.domain.certificates import TrustStore
from services.pki.domain.errors import CertificateUntrusted
from services.pki.tests.signing import intermediate_from, leaf_from, pem, rogue_ca

ISSUING = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Issuing CA")])


def again(certificate: x509.Certificate) -> x509.Certificate:
    """The same certificate as the next request brings it: parsed anew from its PEM."""
    return x509.load_pem_x509_certificate(pem(certificate).encode())


@pytest.fixture
def world() -> tuple[x509.Certificate, x509.Certificate, x509.Certificate]:
    root, root_key = rogue_ca("Test Root CA")
    issuing, issuing_key = intermediate_from(root, root_key, ISSUING)
    leaf = x509.load_pem_x509_certificate(leaf_from(issuing, issuing_key)[0].encode())
    return root, issuing, leaf


def test_the_same_leaf_and_chain_reuse_the_verified_path(world: tuple[x509.Certificate, ...]) -> None:
    root, issuing, leaf = world
    trust = TrustStore([root])
    now = datetime.now(UTC)
    first = trust.build_path(leaf, [issuing], now)
    second = trust.build_path(again(leaf), [again(issuing)], now + timedelta(hours=1))
    assert first == second == [leaf, issuing, root]
    # The remembered certificates, not the ones parsed for this request: it was not re-verified.
    assert all(a is b for a, b in zip(first, second, strict=True))


def test_a_remembered_path_is_not_used_once_a_certificate_on_it_expired(
        world: tuple[x509.Certificate, ...]) -> None:
    root, issuing, leaf = world
    trust = TrustStore([root])
    trust.build_path(leaf, [issuing], datetime.now(UTC))
    with pytest.raises(CertificateUntrusted):
        trust.build_path(leaf, [issuing], leaf.not_valid_after_utc + timedelta(seconds=1))
    with pytest.raises(CertificateUntrusted):
        trust.build_path(leaf, [issuing], leaf.not_valid_before_utc - timedelta(seconds=1))


def test_the_chain_sent_is_part_of_what_is_remembered(world: tuple[x509.Certificate, ...]) -> None:
    root, issuing, leaf = world
    trust = TrustStore([root])
    now = datetime.now(UTC)
    with pytest.raises(CertificateUntrusted):
        trust.build_path(leaf, [], now)  # no path without the intermediate
    assert trust.build_path(leaf, [issuing], now) == [leaf, issuing, root]
    with pytest.raises(CertificateUntrusted):
        trust.build_path(leaf, [], now)  # still none: the path found with it is not reused


def test_a_refused_path_is_verified_again_every_time(world: tuple[x509.Certificate, ...]) -> None:
    root, issuing, leaf = world
    other_root, _ = rogue_ca("Another Root CA")
    trust = TrustStore([other_root])
    for _ in range(2):
        with pytest.raises(CertificateUntrusted):
            trust.build_path(leaf, [issuing, root], datetime.now(UTC))


def test_at_most_the_configured_number_of_paths_is_remembered() -> None:
    root, root_key = rogue_ca("Test Root CA")
    issuing, issuing_key = intermediate_from(root, root_key, ISSUING)
    leaves = [x509.load_pem_x509_certificate(leaf_from(issuing, issuing_key)[0].encode())
              for _ in range(3)]
    trust = TrustStore([root], cached_paths=2)
    now = datetime.now(UTC)
    for leaf in leaves:
        trust.build_path(leaf, [issuing], now)
    # The oldest went out: the first leaf's path is verified (and its objects taken) anew.
    fresh = again(leaves[0])
    assert trust.build_path(fresh, [issuing], now)[0] is fresh
    # The newest stayed.
    assert trust.build_path(again(leaves[2]), [issuing], now)[0] is leaves[2]
