"""Login with a USB token or a SIM signature: the use cases against in-memory fakes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from services.profile.domain.certificate_login import CertificateProof
from services.profile.domain.errors import CertificateNotRegistered, NotFound, PkiRejected
from services.profile.tests.test_handlers import World, make_world
from shared.contracts.pki import SignatureChallenge, SimStarted
from shared.events import AccountCreated, new_event

FINGERPRINT = "ab" * 32
PROOF: dict[str, Any] = {
    "subject_type": "citizen",
    "identity": {"id_type": "CCCD", "id_number": "001090001234", "full_name": "Nguyễn Văn An"},
    "fingerprint_sha256": FINGERPRINT, "serial": "1f", "issuer": "CN=Sandbox Issuing CA",
    "not_after": "2027-01-01T00:00:00Z", "level": 3,
}


class FakePki:
    def __init__(self) -> None:
        self.proof: dict[str, Any] = PROOF
        self.refusal: PkiRejected | None = None
        self.sim_answered = False

    async def challenge(self, flow_id: str, purpose: str) -> SignatureChallenge:
        return SignatureChallenge(challenge="Y2hhbGxlbmdl", expires_at="x")

    async def verify_signature(self, flow_id: str, purpose: str, certificate: str,
                               chain: list[str] | str | None, signature: str) -> CertificateProof:
        if self.refusal is not None:
            raise self.refusal
        return CertificateProof.from_pki(self.proof)

    async def sim_start(self, flow_id: str, purpose: str, phone: str) -> SimStarted:
        return SimStarted(verification_code="4321", expires_at="x", status="pending")

    async def sim_status(self, flow_id: str, purpose: str) -> CertificateProof | None:
        if self.refusal is not None:
            raise self.refusal
        return CertificateProof.from_pki(self.proof) if self.sim_answered else None


@dataclass
class CertificateWorld:
    base: World
    pki: FakePki

    async def call(self, endpoint: str, payload: dict[str, Any]) -> Any:
        return await self.base.call(endpoint, payload)


@pytest.fixture
def world() -> CertificateWorld:
    pki = FakePki()
    return CertificateWorld(make_world(pki=pki), pki)


async def register(world: CertificateWorld, method: str = "usb",
                   certificate: dict[str, str] | None = None) -> None:
    created = AccountCreated(
        account_id="acc-usb", registration_id="reg-usb", subject_type="citizen", method=method,
        level=3, identity={"id_number": "001090001234",  # type: ignore[arg-type]
                           "full_name": "Nguyễn Văn An", "id_type": "CCCD"},
        created_at="2026-01-01T00:00:00+00:00",
        certificate=certificate or {"fingerprint_sha256": FINGERPRINT, "serial": "1f",
                                    "issuer": "CN=Sandbox Issuing CA"})
    await world.base.profile.accounts.on_account_created(new_event(created, correlation_id="reg-usb"))


def auth(flow: dict[str, Any]) -> dict[str, str]:
    return {"id": flow["id"], "flow_token": flow["flow_token"]}


SIGNED = {"certificate": "-----BEGIN CERTIFICATE-----", "signature": "c2ln"}


async def test_usb_login_of_the_bound_account_opens_a_level_3_session(
        world: CertificateWorld) -> None:
    await register(world)
    flow = await world.call("login_start", {"method": "usb"})
    assert flow["status"] == "awaiting_signature" and flow["challenge"]
    done = await world.call("login_submit_signature", auth(flow) | SIGNED | {"ip": "10.0.0.1"})
    assert done["status"] == "completed" and done["level"] == 3
    me = await world.call("me", {"session_token": done["session_token"]})
    assert me["account_id"] == "acc-usb" and me["level"] == 3
    assert [e.type for e in world.base.store.published][-1] == "LoginSucceeded"
    assert (await world.call("login_get", auth(flow)))["status"] == "completed"


async def test_an_unbound_certificate_of_the_same_person_binds_nothing(
        world: CertificateWorld) -> None:
    await register(world, certificate={"fingerprint_sha256": "cd" * 32, "serial": "2",
                                       "issuer": "CN=x"})
    for _ in range(2):
        flow = await world.call("login_start", {"method": "usb"})
        with pytest.raises(CertificateNotRegistered):
            await world.call("login_submit_signature", auth(flow) | SIGNED)
    account = world.base.store.accounts.rows["acc-usb"]
    assert [m.details.get("fingerprint_sha256") for m in account.auth_methods
            if m.type == "usb"] == ["cd" * 32]
    assert not [e for e in world.base.store.published if e.type == "LoginSucceeded"]


@pytest.mark.parametrize("proof", [
    # A passport with the digits of the holder's number: another person.
    PROOF | {"identity": {"id_type": "HC", "id_number": "001090001234",
                          "full_name": "Phạm Thị Dung"}},
    # The certificate now reads as another subject type than the account it was bound to.
    PROOF | {"subject_type": "enterprise",
             "identity": {"id_type": "MST", "id_number": "001090001234",
                          "full_name": "Công ty"}},
])
async def test_a_binding_to_someone_elses_account_is_not_trusted(
        world: CertificateWorld, proof: dict[str, Any]) -> None:
    await register(world)  # bound to FINGERPRINT, the CCCD holder's account
    world.pki.proof = proof
    flow = await world.call("login_start", {"method": "usb"})
    with pytest.raises(CertificateNotRegistered):
        await world.call("login_submit_signature", auth(flow) | SIGNED)


async def test_a_12_digit_cmnd_certificate_is_the_cccd_holders(
        world: CertificateWorld) -> None:
    await register(world)
    world.pki.proof = PROOF | {"identity": PROOF["identity"] | {"id_type": "CMND"}}
    flow = await world.call("login_start", {"method": "usb"})
    done = await world.call("login_submit_signature", auth(flow) | SIGNED)
    assert done["status"] == "completed"


async def test_a_certificate_of_nobody_is_not_registered(world: CertificateWorld) -> None:
    flow = await world.call("login_start", {"method": "usb"})
    with pytest.raises(CertificateNotRegistered):
        await world.call("login_submit_signature", auth(flow) | SIGNED)
    assert not [e for e in world.base.store.published if e.type == "LoginSucceeded"]
    view = await world.call("login_get", auth(flow))
    assert view["status"] == "failed" and view["code"] == "certificate_not_registered"


async def test_a_refused_certificate_leaves_the_flow_waiting(world: CertificateWorld) -> None:
    await register(world)
    flow = await world.call("login_start", {"method": "usb"})
    world.pki.refusal = PkiRejected("certificate_revoked", "Đã thu hồi.")
    with pytest.raises(PkiRejected):
        await world.call("login_submit_signature", auth(flow) | SIGNED)
    assert (await world.call("login_get", auth(flow)))["status"] == "awaiting_signature"
    assert [e.type for e in world.base.store.published][-1] == "LoginFailed"


async def test_sim_login_completes_on_the_poll_that_sees_the_approval(
        world: CertificateWorld) -> None:
    await register(world, method="sim")
    flow = await world.call("login_start", {"method": "sim", "phone": "0912345678"})
    assert flow["verification_code"] == "4321"
    assert (await world.call("login_get", auth(flow)))["status"] == "awaiting_signature"
    world.pki.sim_answered = True
    done = await world.call("login_get", auth(flow))
    assert done["status"] == "completed" and done["session_token"] and done["level"] == 3
    again = await world.call("login_get", auth(flow))
    assert again["status"] == "completed" and "session_token" not in again


async def test_a_sim_rejection_fails_the_login(world: CertificateWorld) -> None:
    flow = await world.call("login_start", {"method": "sim", "phone": "0912345678"})
    world.pki.refusal = PkiRejected("sim_rejected", "Từ chối.")
    view = await world.call("login_get", auth(flow))
    assert view["status"] == "failed" and view["code"] == "sim_rejected"


async def test_password_flows_still_answer_through_the_dispatch(world: CertificateWorld) -> None:
    with pytest.raises(NotFound):
        await world.call("login_get", {"id": "nope", "flow_token": "t"})
