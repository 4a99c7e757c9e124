"""Certificate validations per second on ONE core, revocation answers cached (run by hand:
``python -m bench.pki``).

What one validation is here: parse the PEM certificate and chain, check the validity window,
build and verify the path to the trust anchor (cryptography's x509.verification), check key
usage, read the identity, verify the signature over a challenge, and look the revocation
status up in the warm OCSP cache (the first round fetches it from the sandbox CA over HTTP).
The challenge store is in memory, so the figure is the CPU cost of validation itself, not of
MongoDB. RSA-2048 and ECDSA P-256 leaves are measured apart.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from cryptography import x509

from sandbox.ca import SandboxCA
from services.pki.adapters.revocation import HttpRevocationChecker
from services.pki.domain.certificates import TrustStore, parse_certificate, parse_chain, parse_signature
from services.pki.handlers import PkiService
from services.pki.tests.fakes import FakeTransactions
from services.pki.tests.signing import sign
from shared.clock import system_clock


async def measure(key_type: str, seconds: float) -> float:
    from fastapi import FastAPI

    from sandbox.routes import ca as ca_routes

    with tempfile.TemporaryDirectory() as home:
        authority = SandboxCA("http://sandbox.test", system_clock, Path(home), timedelta(hours=1))
        app = FastAPI()
        app.state.ca = authority
        app.include_router(ca_routes.router)
        issued = authority.issue(subject_type="citizen", full_name="Nguyễn Văn An",
                                 id_number="001090001234", key_type=key_type)  # type: ignore[arg-type]
        trust = TrustStore([x509.load_pem_x509_certificate(authority.root_pem().encode())])
        # The CA is reached in-process (ASGI transport): only the first round fetches anyway.
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            service = PkiService(FakeTransactions(), trust, HttpRevocationChecker(http), None,
                                 system_clock)
            message = b"x" * 32
            certificate_pem, chain_pem = issued.certificate_pem(), authority.chain_pem()
            signature = sign(issued.private_key_pem(), message)
            done, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                await service.validate(parse_certificate(certificate_pem), parse_chain(chain_pem),
                                       parse_signature(signature), message)
                done += 1
            return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    for key_type in ("rsa", "ec"):
        rate = asyncio.run(measure(key_type, args.seconds))
        print(f"pki validation, {key_type:>3} leaf, revocation cached: {rate:8.0f} /s on one core")


if __name__ == "__main__":
    main()
