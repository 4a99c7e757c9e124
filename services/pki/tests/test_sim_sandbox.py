"""SIM signature through the real HTTP adapter to the sandbox provider: the verification code,
approval with the PIN, rejection, time-out, a phone without SIM signature."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.pki.adapters import mobile_signature
from services.pki.adapters.revocation import HttpRevocationChecker
from services.pki.adapters.revocation import create_client as revocation_client
from services.pki.adapters.trust_store import load_trust_anchors
from services.pki.domain.certificates import TrustStore
from services.pki.domain.errors import PkiError
from services.pki.handlers import PkiService
from services.pki.tests.conftest import RunningSandbox
from services.pki.tests.fakes import FakeTransactions
from shared.clock import system_clock
from shared.contracts.pki import SimStatus, StartSim


@pytest.fixture
async def service(sandbox: RunningSandbox) -> AsyncIterator[PkiService]:
    async with revocation_client(5) as http, mobile_signature.create_client(
            f"{sandbox.url}/mobile-signature/v1", "dev-insecure-mobile-signature-token", 5) as sim:
        # Only the root is configured: the provider returns the bare certificate, so the
        # intermediate comes from the trust store as a configured intermediate.
        trust = TrustStore(load_trust_anchors(
            f"{sandbox.ca_dir / 'root.pem'},{sandbox.ca_dir / 'issuing.pem'}"))
        yield PkiService(FakeTransactions(), trust, HttpRevocationChecker(http),
                         mobile_signature.HttpMobileSignatureProvider(sim, "DVCQG"), system_clock)


def new_subscriber(sandbox: RunningSandbox, **fields: object) -> str:
    phone = f"+8498{uuid.uuid4().int % 10**7:07d}"
    body = {"phone": phone, "subject_type": "citizen", "id_number": "079195000123",
            "full_name": "Trần Thị Bình", "pin": "1234", **fields}
    response = httpx.post(f"{sandbox.url}/dev/sim-subscribers", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return phone


async def dev(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """What the SIM owner does on the sandbox page."""
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.request(method, url, **kwargs)


def start(phone: str, flow_id: str) -> StartSim:
    return StartSim.model_validate({"flow_id": flow_id, "purpose": "registration", "phone": phone})


def poll(flow_id: str, wait: float = 0) -> SimStatus:
    return SimStatus.model_validate({"flow_id": flow_id, "purpose": "registration", "wait_seconds": wait})


async def test_approved_with_the_pin_gives_the_identity(sandbox, service) -> None:
    phone = new_subscriber(sandbox)
    started = await service.sim_start(start(phone, "sim-ok"))
    assert (await service.sim_status(poll("sim-ok"))).wire() == {"status": "pending"}
    shown = (await dev("GET", f"{sandbox.url}/dev/sim/{phone}")).json()
    assert shown["verification_code"] == started.verification_code
    wrong = await dev("POST", f"{sandbox.url}/dev/sim/{phone}/approve", json={"pin": "9999"})
    assert wrong.status_code == 422
    approved = await dev("POST", f"{sandbox.url}/dev/sim/{phone}/approve", json={"pin": "1234"})
    assert approved.status_code == 200
    done = (await service.sim_status(poll("sim-ok", wait=2))).wire()
    assert done["status"] == "completed" and done["level"] == 3
    assert done["identity"]["id_number"] == "079195000123"
    # Polling again answers the same, and CertificateValidated was committed once.
    assert (await service.sim_status(poll("sim-ok"))).serial == done["serial"]
    transactions = service._transactions
    assert isinstance(transactions, FakeTransactions)
    assert transactions.state.event_types() == ["CertificateValidated"]


async def test_rsa_enterprise_sim(sandbox, service) -> None:
    phone = new_subscriber(sandbox, subject_type="enterprise", tax_code="0100109106",
                           id_number=None, full_name="Công ty TNHH Ví Dụ", key_type="rsa")
    await service.sim_start(start(phone, "sim-ent"))
    await dev("POST", f"{sandbox.url}/dev/sim/{phone}/approve", json={"pin": "1234"})
    done = await service.sim_status(poll("sim-ent", wait=2))
    assert done.subject_type == "enterprise"


async def refusal(service: PkiService, command: SimStatus) -> str:
    with pytest.raises(PkiError) as caught:
        await service.sim_status(command)
    return caught.value.code


async def test_rejected_on_the_phone(sandbox, service) -> None:
    phone = new_subscriber(sandbox)
    await service.sim_start(start(phone, "sim-no"))
    assert (await dev("POST", f"{sandbox.url}/dev/sim/{phone}/reject")).status_code == 200
    assert await refusal(service, poll("sim-no", wait=2)) == "sim_rejected"
    assert await refusal(service, poll("sim-no")) == "sim_rejected"  # stays refused


async def test_nobody_answers_in_time(sandbox, service) -> None:
    phone = new_subscriber(sandbox)
    await service.sim_start(start(phone, "sim-late"))
    assert await refusal(service, poll("sim-late", wait=3)) == "sim_timeout"


async def test_a_phone_without_sim_signature(service) -> None:
    await service.sim_start(start("+84900000001", "sim-none"))
    assert await refusal(service, poll("sim-none", wait=1)) == "sim_rejected"


async def test_unknown_flow(service) -> None:
    assert await refusal(service, poll("never-started")) == "not_found"


def test_verification_codes_agree_with_mobile_id() -> None:
    from services.pki.domain.challenge import verification_code
    # Mobile-ID's documented example: hash bytes 0x2C...0x4A → 6 high bits 001011, 7 low 1001010.
    digest = bytes([0x2C]) + bytes(30) + bytes([0x4A])
    assert verification_code(digest) == f"{0b0010111001010:04d}"
