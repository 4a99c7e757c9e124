"""Certificate validations per CPU-second (one core), revocation answers cached (run by hand:
``python -m bench.pki``; also part of ``make bench``).

What one validation is here: parse the PEM certificate and chain (as each request brings them),
check the validity window, build and verify the path to the trust anchor (cryptography's
x509.verification), check key usage, read the identity, verify the signature over a challenge,
and look the revocation status up in the warm OCSP cache (the first round fetches it from the
sandbox CA over HTTP). The challenge store is in memory, so the figure is the CPU cost of
validation itself, not of MongoDB. RSA-2048 and ECDSA P-256 leaves are measured apart.

Measured as CPU time of this process (``time.process_time``), not wall time: on a shared
machine the wall clock counts other processes' turns too. Two figures per leaf:

- the same certificate again (a person logging in again with the same token): the trust store
  remembers the verified path (domain/certificates.py), the issue 13 target (>= 2,000/s);
- the path verified every time (no remembered path, as for a certificate not seen before; the
  facts read from it are still remembered): most of it the CA signatures along the path (the
  sandbox root is ECDSA P-384, by far the slowest of them to verify).
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
from fastapi import FastAPI

from bench.figures import machine_state
from sandbox.ca import SandboxCA
from sandbox.routes import ca as ca_routes
from services.pki.adapters.revocation import HttpRevocationChecker
from services.pki.domain.certificates import TrustStore, parse_certificate, parse_chain, parse_signature
from services.pki.handlers import PkiService
from services.pki.tests.fakes import FakeTransactions
from services.pki.tests.signing import sign
from shared.clock import system_clock

TARGET = 2000.0  # issue 13: validations per CPU-second with revocation cached


async def measure(key_type: str, seconds: float, remember_paths: bool = True) -> float:
    """Validations per CPU-second of the same certificate, for ``seconds`` of CPU time."""
    with tempfile.TemporaryDirectory() as home:
        authority = SandboxCA("http://sandbox.test", system_clock, Path(home), timedelta(hours=1))
        app = FastAPI()
        app.state.ca = authority
        app.include_router(ca_routes.router)
        issued = authority.issue(subject_type="citizen", full_name="Nguyễn Văn An",
                                 id_number="001090001234", key_type=key_type)  # type: ignore[arg-type]
        trust = TrustStore([x509.load_pem_x509_certificate(authority.root_pem().encode())],
                           cached_paths=10 if remember_paths else 0)
        # The CA is reached in-process (ASGI transport): only the first round fetches anyway.
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            service = PkiService(FakeTransactions(), trust, HttpRevocationChecker(http), None,
                                 system_clock)
            message = b"x" * 32
            certificate_pem, chain_pem = issued.certificate_pem(), authority.chain_pem()
            signature = sign(issued.private_key_pem(), message)

            async def validate() -> None:
                await service.validate(parse_certificate(certificate_pem), parse_chain(chain_pem),
                                       parse_signature(signature), message)

            await validate()  # the first round fetches the OCSP answers
            done, started = 0, time.process_time()
            while time.process_time() - started < seconds:
                await validate()
                done += 1
            return done / (time.process_time() - started)


def run(seconds: float = 3.0) -> dict[str, float]:
    """Prints and returns the figures: validations per CPU-second by leaf key and case."""
    figures = {}
    for key_type in ("rsa", "ec"):
        again = asyncio.run(measure(key_type, seconds))
        first = asyncio.run(measure(key_type, seconds, remember_paths=False))
        figures[f"{key_type} again"], figures[f"{key_type} path verified"] = again, first
        print(f"pki validation, {key_type:>3} leaf, revocation cached: the same certificate again "
              f"{again:6.0f} per CPU-second ({again / TARGET:.2f} of the 2,000 target, "
              f"{1000 / again:.2f} ms CPU each); the path verified every time {first:5.0f} per "
              f"CPU-second ({1000 / first:.2f} ms CPU each)")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="CPU seconds per figure")
    args = parser.parse_args()
    print(machine_state())
    run(args.seconds)


if __name__ == "__main__":
    main()
