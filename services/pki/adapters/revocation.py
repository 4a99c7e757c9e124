"""Revocation status from the CA: OCSP (RFC 6960) first, the CRL (RFC 5280) when OCSP has no
answer, both over HTTP with ONE shared ``httpx.AsyncClient`` (a connection pool per CA host).

Caches (per process, in memory): a CRL until its nextUpdate, an OCSP answer until its
nextUpdate (or ``default_ttl`` when the responder gives none). Concurrent validations that
need the same CRL or OCSP answer share one fetch (single flight), so a burst of logins does
not become a burst of requests to the CA. Only authentic answers are cached: the CRL must be
signed by the certificate's issuer and the OCSP response by the issuer or by a responder
certificate the issuer delegated (id-kp-OCSPSigning).

Parsing and signature checks are CPU work of microseconds to a millisecond; the fetches are
awaited, never blocking the event loop. A cached answer is the hot path (every validation asks
for the leaf and each CA below the anchor), so what is read from a certificate to look it up
(its OCSP and CRL addresses, its issuer's fingerprint) is remembered per certificate too.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TypeVar

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from services.pki.domain.ports import RevocationStatus
from shared import tracing
from shared.http import retrying_transport
from shared.logging import get_logger
from shared.tracing import SpanKind

log = get_logger(__name__)
T = TypeVar("T")

MAX_CRL_BYTES = 20 * 1024 * 1024
MAX_OCSP_BYTES = 64 * 1024
# Certificates whose revocation addresses and fingerprint are remembered.
CACHED_CERTIFICATES = 4096
# Clocks of CAs and ours disagree by a little; an answer "from the future" by less is fine.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class _Cached:
    value: object
    fresh_until: datetime


def create_client(timeout_seconds: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=True,
                             limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
                             headers={"User-Agent": "dvcid-pki"},
                             # CRL and OCSP queries only read: safe to repeat on a closed
                             # connection.
                             transport=retrying_transport(lookups_only=True))


class HttpRevocationChecker:
    def __init__(self, client: httpx.AsyncClient, default_ttl: timedelta = timedelta(minutes=5),
                 max_ocsp_entries: int = 100_000) -> None:
        self._client = client
        self._default_ttl = default_ttl
        self._max_ocsp = max_ocsp_entries
        self._crls: dict[str, _Cached] = {}
        self._ocsp: OrderedDict[tuple[bytes, int], _Cached] = OrderedDict()
        self._inflight: dict[object, asyncio.Future[object]] = {}

    async def status(self, certificate: x509.Certificate, issuer: x509.Certificate,
                     now: datetime) -> RevocationStatus:
        status = RevocationStatus.UNKNOWN
        for url in _ocsp_urls(certificate):
            status = await self._ocsp_status(url, certificate, issuer, now)
            if status is not RevocationStatus.UNKNOWN:
                return status
        for url in _crl_urls(certificate):
            crl = await self._crl(url, issuer, now)
            if crl is not None:
                revoked = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
                return RevocationStatus.REVOKED if revoked else RevocationStatus.GOOD
        return status

    # --- CRL -----------------------------------------------------------------------------------
    async def _crl(self, url: str, issuer: x509.Certificate,
                   now: datetime) -> x509.CertificateRevocationList | None:
        cached = self._crls.get(url)
        if cached is not None and now < cached.fresh_until:
            assert isinstance(cached.value, x509.CertificateRevocationList)
            return cached.value
        crl = await self._single_flight(("crl", url), lambda: self._fetch_crl(url, issuer, now))
        return crl if isinstance(crl, x509.CertificateRevocationList) else None

    async def _fetch_crl(self, url: str, issuer: x509.Certificate,
                         now: datetime) -> x509.CertificateRevocationList | None:
        body = await self._get(url, MAX_CRL_BYTES)
        if body is None:
            return None
        try:
            crl = (x509.load_pem_x509_crl(body) if body.lstrip().startswith(b"-----")
                   else x509.load_der_x509_crl(body))
            authentic = crl.issuer == issuer.subject and crl.is_signature_valid(
                issuer.public_key())  # type: ignore[arg-type]
        except (ValueError, TypeError, UnsupportedAlgorithm):
            log.warning("crl unreadable", url=url)
            return None
        next_update = crl.next_update_utc
        if not authentic or next_update is None or next_update <= now:
            log.warning("crl refused", url=url, authentic=authentic, stale=next_update is None
                        or next_update <= now)
            return None
        self._crls[url] = _Cached(crl, next_update)
        return crl

    # --- OCSP ----------------------------------------------------------------------------------
    async def _ocsp_status(self, url: str, certificate: x509.Certificate,
                           issuer: x509.Certificate, now: datetime) -> RevocationStatus:
        key = (_fingerprint(issuer), certificate.serial_number)
        cached = self._ocsp.get(key)
        if cached is not None and now < cached.fresh_until:
            assert isinstance(cached.value, RevocationStatus)
            return cached.value
        status = await self._single_flight(
            ("ocsp", url, key), lambda: self._fetch_ocsp(url, certificate, issuer, now, key))
        return status if isinstance(status, RevocationStatus) else RevocationStatus.UNKNOWN

    async def _fetch_ocsp(self, url: str, certificate: x509.Certificate,
                          issuer: x509.Certificate, now: datetime,
                          key: tuple[bytes, int]) -> RevocationStatus:
        request = (ocsp.OCSPRequestBuilder()
                   .add_certificate(certificate, issuer, hashes.SHA1())  # RFC 6960's CertID hash
                   .build().public_bytes(serialization.Encoding.DER))
        body = await self._post(url, request)
        if body is None:
            return RevocationStatus.UNKNOWN
        try:
            response = ocsp.load_der_ocsp_response(body)
            if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
                log.warning("ocsp unsuccessful", url=url, status=response.response_status.name)
                return RevocationStatus.UNKNOWN
            if not _ocsp_authentic(response, issuer):
                log.warning("ocsp response not signed by the issuer or its responder", url=url)
                return RevocationStatus.UNKNOWN
            single = _matching_single(response, certificate, issuer)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            log.warning("ocsp response unreadable", url=url)
            return RevocationStatus.UNKNOWN
        if single is None or single.this_update_utc > now + CLOCK_SKEW:
            return RevocationStatus.UNKNOWN
        next_update = single.next_update_utc or now + self._default_ttl
        if next_update <= now:
            return RevocationStatus.UNKNOWN
        status = {ocsp.OCSPCertStatus.GOOD: RevocationStatus.GOOD,
                  ocsp.OCSPCertStatus.REVOKED: RevocationStatus.REVOKED}.get(
            single.certificate_status, RevocationStatus.UNKNOWN)
        if status is not RevocationStatus.UNKNOWN:
            self._ocsp[key] = _Cached(status, next_update)
            self._ocsp.move_to_end(key)
            while len(self._ocsp) > self._max_ocsp:
                self._ocsp.popitem(last=False)
        return status

    # --- HTTP and single flight -----------------------------------------------------------------
    async def _get(self, url: str, limit: int) -> bytes | None:
        try:
            # The CA's host is not an attribute: only that a CRL was fetched, and the answer.
            with tracing.span("crl.fetch", SpanKind.CLIENT, {"peer.service": "ca"}) as current:
                response = await self._client.get(url)
                tracing.set_attributes(current, {"http.response.status_code": response.status_code})
        except httpx.HTTPError as exc:
            log.warning("revocation source unreachable", url=url, error=type(exc).__name__)
            return None
        if response.status_code != 200 or len(response.content) > limit:
            log.warning("revocation source refused", url=url, status=response.status_code)
            return None
        return response.content

    async def _post(self, url: str, request: bytes) -> bytes | None:
        try:
            with tracing.span("ocsp.query", SpanKind.CLIENT, {"peer.service": "ocsp"}) as current:
                response = await self._client.post(
                    url, content=request, headers={"Content-Type": "application/ocsp-request"})
                tracing.set_attributes(current, {"http.response.status_code": response.status_code})
        except httpx.HTTPError as exc:
            log.warning("ocsp responder unreachable", url=url, error=type(exc).__name__)
            return None
        if response.status_code != 200 or len(response.content) > MAX_OCSP_BYTES:
            log.warning("ocsp responder refused", url=url, status=response.status_code)
            return None
        return response.content

    async def _single_flight(self, key: object, fetch: Callable[[], Awaitable[T]]) -> object:
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result: object = await fetch()
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._inflight[key]


@lru_cache(maxsize=CACHED_CERTIFICATES)
def _fingerprint(certificate: x509.Certificate) -> bytes:
    return certificate.fingerprint(hashes.SHA256())


@lru_cache(maxsize=CACHED_CERTIFICATES)
def _ocsp_urls(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    except (x509.ExtensionNotFound, ValueError):
        return ()
    return tuple(d.access_location.value for d in aia.value
                 if d.access_method == AuthorityInformationAccessOID.OCSP
                 and isinstance(d.access_location, x509.UniformResourceIdentifier)
                 and d.access_location.value.startswith(("http://", "https://")))


@lru_cache(maxsize=CACHED_CERTIFICATES)
def _crl_urls(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    except (x509.ExtensionNotFound, ValueError):
        return ()
    return tuple(name.value for point in points.value for name in (point.full_name or [])
                 if isinstance(name, x509.UniformResourceIdentifier)
                 and name.value.startswith(("http://", "https://")))


def _matching_single(response: ocsp.OCSPResponse, certificate: x509.Certificate,
                     issuer: x509.Certificate) -> ocsp.OCSPSingleResponse | None:
    expected = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1()).build()
    for single in response.responses:
        if (single.serial_number == certificate.serial_number
                and single.issuer_key_hash == expected.issuer_key_hash
                and single.issuer_name_hash == expected.issuer_name_hash):
            return single
    return None


def _ocsp_authentic(response: ocsp.OCSPResponse, issuer: x509.Certificate) -> bool:
    hash_algorithm = response.signature_hash_algorithm
    if hash_algorithm is None:
        return False
    signers = [issuer]
    for delegated in response.certificates:
        # A responder certificate the issuer signed for OCSP only (RFC 6960 4.2.2.2).
        try:
            delegated.verify_directly_issued_by(issuer)
            eku = delegated.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound,
                UnsupportedAlgorithm):
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING in eku:
            signers.append(delegated)
    for signer in signers:
        if _responder_matches(response, signer) and _signed_by(
                signer, response.signature, response.tbs_response_bytes, hash_algorithm):
            return True
    return False


def _responder_matches(response: ocsp.OCSPResponse, signer: x509.Certificate) -> bool:
    if response.responder_name is not None:
        return response.responder_name == signer.subject
    key_hash = x509.SubjectKeyIdentifier.from_public_key(signer.public_key()).digest
    return response.responder_key_hash == key_hash


def _signed_by(signer: x509.Certificate, signature: bytes, data: bytes,
               hash_algorithm: hashes.HashAlgorithm) -> bool:
    key = signer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hash_algorithm))
        else:
            return False
    except InvalidSignature:
        return False
    return True
