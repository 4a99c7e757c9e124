"""Registration with a USB token or a SIM signature: the use cases against in-memory fakes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Self

import pytest

from services.registration.domain.errors import (
    AccountExists,
    EmailRequired,
    FlowExpired,
    FlowNotFound,
    FlowState,
    PkiRejected,
    TransactionConflict,
    ValidationFailed,
)
from services.registration.domain.model import FLOW_EXPIRED_CODE, IdentityRecord
from services.registration.domain.signature import (
    UNFINISHED,
    CertificateProof,
    SignatureRegistration,
    SignatureStatus,
    proof_changes,
)
from services.registration.signature_handlers import (
    RegistrationEndpoints,
    SignatureDependencies,
    SignatureExpirySweeper,
    SignatureRegistrations,
)
from services.registration.tests.fakes import FakeStore, FakeUnitOfWork, make_world
from shared.clock import FrozenClock
from shared.events import AccountCreated, CertificateValidated, new_event

CITIZEN_IDENTITY = {"id_type": "CCCD", "id_number": "001090001234", "full_name": "Nguyễn Văn An"}
CITIZEN_PROOF: dict[str, Any] = {
    "subject_type": "citizen",
    "identity": CITIZEN_IDENTITY,
    "fingerprint_sha256": "ab" * 32, "serial": "1f", "issuer": "CN=Sandbox Issuing CA",
    "not_after": "2027-01-01T00:00:00Z", "level": 3,
}
ENTERPRISE_PROOF = CITIZEN_PROOF | {
    "subject_type": "enterprise",
    "identity": {"id_type": "MST", "id_number": "0100109106", "tax_code": "0100109106",
                 "full_name": "Công ty TNHH Sen Vàng"},
}


class FakeSignatureRepository:
    def __init__(self, rows: dict[str, SignatureRegistration],
                 store: SignatureStore | None = None) -> None:
        self.rows = rows
        self.store = store

    async def add(self, registration: SignatureRegistration) -> None:
        self.rows[registration.id] = copy.deepcopy(registration)

    async def get(self, registration_id: str) -> SignatureRegistration | None:
        row = self.rows.get(registration_id)
        return copy.deepcopy(row) if row else None

    async def transition(self, registration_id: str, *, from_status: SignatureStatus,
                         to_status: SignatureStatus, now: datetime,
                         changes: dict[str, Any] | None = None,
                         only_if_live: bool = True) -> SignatureRegistration | None:
        if self.store is not None and self.store.conflict_once is not None:
            # Another writer (the CertificateValidated consumer) commits first: this
            # transaction conflicts, as MongoDB's WriteConflict.
            meanwhile, self.store.conflict_once = self.store.conflict_once, None
            meanwhile(self.store)
            raise TransactionConflict("WriteConflict")
        row = self.rows.get(registration_id)
        if row is None or row.status != from_status or (only_if_live and row.is_expired(now)):
            return None
        moved = replace(row, status=to_status, **(changes or {}))
        self.rows[registration_id] = moved
        return copy.deepcopy(moved)

    async def fail_one_expired(self, now: datetime) -> SignatureRegistration | None:
        lapsed = [r for r in self.rows.values() if r.status in UNFINISHED and r.expires_at <= now]
        if not lapsed:
            return None
        failed = replace(lapsed[0], status=SignatureStatus.FAILED, code=FLOW_EXPIRED_CODE)
        self.rows[failed.id] = failed
        return copy.deepcopy(failed)


@dataclass
class SignatureStore:
    rows: dict[str, SignatureRegistration] = field(default_factory=dict)
    # Runs once, then the next transition conflicts (what another writer did meanwhile).
    conflict_once: Callable[[SignatureStore], None] | None = None


class FakeSignatureUnitOfWork(FakeUnitOfWork):
    def __init__(self, store: FakeStore, signatures: SignatureStore) -> None:
        super().__init__(store)
        self.signatures = signatures

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._rows = copy.deepcopy(self.signatures.rows)
        self.signature_registrations = FakeSignatureRepository(self._rows, self.signatures)
        return self

    async def commit(self) -> None:
        self.signatures.rows = self._rows
        await super().commit()


class FakePki:
    def __init__(self) -> None:
        self.proof: dict[str, Any] = CITIZEN_PROOF
        self.refusal: PkiRejected | None = None
        self.sim_answer: dict[str, Any] | None = None  # None: the owner has not answered
        self.calls: list[tuple[str, str, str]] = []

    async def challenge(self, flow_id: str, purpose: str) -> dict[str, Any]:
        self.calls.append(("challenge", flow_id, purpose))
        return {"challenge": "Y2hhbGxlbmdl", "expires_at": "2026-01-01T00:05:00Z"}

    async def verify_signature(self, flow_id: str, purpose: str, certificate: str,
                               chain: list[str] | str | None, signature: str) -> CertificateProof:
        self.calls.append(("verify_signature", flow_id, purpose))
        if self.refusal is not None:
            raise self.refusal
        return CertificateProof.from_pki(self.proof)

    async def sim_start(self, flow_id: str, purpose: str, phone: str) -> dict[str, Any]:
        self.calls.append(("sim_start", flow_id, phone))
        return {"verification_code": "4321", "expires_at": "x", "status": "pending"}

    async def sim_status(self, flow_id: str, purpose: str,
                         wait_seconds: float = 0) -> CertificateProof | None:
        if self.refusal is not None:
            raise self.refusal
        return CertificateProof.from_pki(self.sim_answer) if self.sim_answer else None


@dataclass
class SignatureWorld:
    store: FakeStore
    signatures: SignatureStore
    clock: FrozenClock
    pki: FakePki
    flows: SignatureRegistrations
    endpoints: RegistrationEndpoints


@pytest.fixture
def world() -> SignatureWorld:
    base = make_world()
    signatures = SignatureStore()
    pki = FakePki()
    flows = SignatureRegistrations(SignatureDependencies(
        uow=lambda: FakeSignatureUnitOfWork(base.store, signatures), pki=pki, clock=base.clock,
        flow_secret="test-flow-secret"))
    return SignatureWorld(base.store, signatures, base.clock, pki, flows,
                          RegistrationEndpoints(base.handlers, flows))


def auth(flow: dict[str, Any]) -> dict[str, str]:
    return {"id": flow["id"], "flow_token": flow["flow_token"]}


SIGNED = {"certificate": "-----BEGIN CERTIFICATE-----", "signature": "c2ln"}


async def test_usb_registration_of_a_citizen(world: SignatureWorld) -> None:
    flow = await world.endpoints.start({"subject_type": "citizen", "method": "usb"})
    assert flow["status"] == "awaiting_signature" and flow["challenge"]
    assert world.pki.calls == [("challenge", flow["id"], "registration")]

    accepted = await world.flows.submit_signature(auth(flow) | SIGNED)
    assert accepted["status"] == "awaiting_confirmation"
    assert accepted["identity"]["id_number"] == "001090001234"
    view = await world.endpoints.get(auth(flow))
    assert view["status"] == "awaiting_confirmation" and view["certificate"]["serial"] == "1f"

    done = await world.flows.confirm(auth(flow) | {"email": "an@example.vn"})
    assert done["status"] == "completed" and done["level"] == 3
    [event] = world.store.events_of("AccountCreated")
    created = event.parse(AccountCreated)
    assert created.method == "usb" and created.level == 3 and created.credential_id is None
    assert created.identity.id_number == "001090001234" and created.email == "an@example.vn"
    assert created.certificate == {"fingerprint_sha256": "ab" * 32, "serial": "1f",
                                   "issuer": "CN=Sandbox Issuing CA",
                                   "not_after": "2027-01-01T00:00:00Z"}
    assert created.identity.id_type == "CCCD"
    assert "CCCD:001090001234" in world.store.identities
    assert world.store.events_of("RegistrationCompleted")


async def test_an_enterprise_must_give_an_email(world: SignatureWorld) -> None:
    world.pki.proof = ENTERPRISE_PROOF
    flow = await world.flows.start({"subject_type": "enterprise", "method": "usb"})
    await world.flows.submit_signature(auth(flow) | SIGNED)
    with pytest.raises(EmailRequired):
        await world.flows.confirm(auth(flow))
    assert world.store.events == []
    await world.flows.confirm(auth(flow) | {"email": "ketoan@senvang.vn"})
    created = world.store.events_of("AccountCreated")[0].parse(AccountCreated)
    assert created.subject_type == "enterprise"
    assert (created.identity.model_extra or {})["tax_code"] == "0100109106"


async def test_a_refused_certificate_changes_nothing(world: SignatureWorld) -> None:
    flow = await world.flows.start({"subject_type": "citizen", "method": "usb"})
    world.pki.refusal = PkiRejected("certificate_revoked", "Chứng thư số đã bị thu hồi.")
    with pytest.raises(PkiRejected):
        await world.flows.submit_signature(auth(flow) | SIGNED)
    assert (await world.flows.get(auth(flow)))["status"] == "awaiting_signature"
    assert world.store.events == [] and world.store.identities == {}
    world.pki.refusal = None  # another certificate, the same challenge
    assert (await world.flows.submit_signature(auth(flow) | SIGNED))["status"] == \
        "awaiting_confirmation"


async def test_a_duplicate_identity_fails_the_flow(world: SignatureWorld) -> None:
    world.store.identities["CCCD:001090001234"] = IdentityRecord("CCCD:001090001234", "acc",
                                                                 "citizen", world.clock())
    flow = await world.flows.start({"subject_type": "citizen", "method": "usb"})
    with pytest.raises(AccountExists):
        await world.flows.submit_signature(auth(flow) | SIGNED)
    view = await world.flows.get(auth(flow))
    assert view["status"] == "failed" and view["code"] == "account_exists"
    assert [e.type for e in world.store.events] == ["RegistrationFailed"]


async def test_a_passport_with_the_digits_of_a_cmnd_is_another_person(
        world: SignatureWorld) -> None:
    world.store.identities["CMND:123456789"] = IdentityRecord("CMND:123456789", "acc",
                                                              "citizen", world.clock())
    world.pki.proof = CITIZEN_PROOF | {"identity": {
        "id_type": "HC", "id_number": "123456789", "full_name": "Phạm Thị Dung"}}
    flow = await world.flows.start({"subject_type": "citizen", "method": "usb"})
    accepted = await world.flows.submit_signature(auth(flow) | SIGNED)
    assert accepted["status"] == "awaiting_confirmation"
    await world.flows.confirm(auth(flow))
    assert world.store.identities["HC:123456789"].account_id != "acc"


async def test_a_certificate_of_the_other_subject_type_is_refused(world: SignatureWorld) -> None:
    world.pki.proof = ENTERPRISE_PROOF
    flow = await world.flows.start({"subject_type": "citizen", "method": "usb"})
    with pytest.raises(ValidationFailed) as err:
        await world.flows.submit_signature(auth(flow) | SIGNED)
    assert err.value.fields == [{"name": "subject_type", "detail": err.value.detail}]


async def test_steps_out_of_order(world: SignatureWorld) -> None:
    flow = await world.flows.start({"subject_type": "citizen", "method": "usb"})
    with pytest.raises(FlowState):
        await world.flows.confirm(auth(flow))
    with pytest.raises(FlowNotFound):
        await world.flows.get({"id": flow["id"], "flow_token": "wrong"})
    with pytest.raises(ValidationFailed):
        await world.flows.submit_signature(auth(flow) | {"certificate": "x"})


async def test_a_retried_confirm_answers_the_same_account(world: SignatureWorld) -> None:
    # Its answer was lost (issue 12): the retry gets the same answer, one account.
    flow = await world.flows.start({"subject_type": "citizen", "method": "usb"})
    await world.flows.submit_signature(auth(flow) | SIGNED)
    first = await world.flows.confirm(auth(flow))
    again = await world.flows.confirm(auth(flow))
    assert again == first and first["status"] == "completed"
    assert len(world.store.events_of("AccountCreated")) == 1


async def test_sim_registration_polls_pki_until_the_owner_answers(world: SignatureWorld) -> None:
    flow = await world.endpoints.start({"subject_type": "citizen", "method": "sim",
                                        "phone": "0912 345 678"})
    assert flow["verification_code"] == "4321" and flow["phone_masked"] == "+8491****678"
    assert world.pki.calls == [("sim_start", flow["id"], "+84912345678")]
    assert (await world.endpoints.get(auth(flow)))["status"] == "awaiting_signature"
    world.pki.sim_answer = CITIZEN_PROOF
    view = await world.endpoints.get(auth(flow))
    assert view["status"] == "awaiting_confirmation" and view["identity"]["full_name"]
    with pytest.raises(FlowState):  # no /signature for a SIM flow
        await world.flows.submit_signature(auth(flow) | SIGNED)
    await world.flows.confirm(auth(flow))
    created = world.store.events_of("AccountCreated")[0].parse(AccountCreated)
    assert created.method == "sim" and created.phone == "+84912345678"


@pytest.mark.parametrize("code", ["sim_rejected", "sim_timeout"])
async def test_a_sim_refusal_fails_the_flow_with_its_code(world: SignatureWorld,
                                                          code: str) -> None:
    flow = await world.flows.start({"subject_type": "citizen", "method": "sim",
                                    "phone": "0912345678"})
    world.pki.refusal = PkiRejected(code, "Từ chối.")
    view = await world.flows.get(auth(flow))
    assert view["status"] == "failed" and view["code"] == code
    assert world.store.events_of("RegistrationFailed")[0].payload["code"] == code


async def test_certificate_validated_moves_a_flow_whose_answer_was_lost(
        world: SignatureWorld) -> None:
    flow = await world.flows.start({"subject_type": "citizen", "method": "usb"})
    event = new_event(CertificateValidated(
        flow_id=flow["id"], purpose="registration", subject_type="citizen",
        identity=CITIZEN_IDENTITY, fingerprint_sha256="ab" * 32, serial="1f",
        issuer="CN=x", not_after="2027-01-01T00:00:00Z"), correlation_id=flow["id"])
    await world.flows.on_certificate_validated(event)
    await world.flows.on_certificate_validated(event)  # redelivered: nothing more
    view = await world.flows.get(auth(flow))
    assert view["status"] == "awaiting_confirmation" and view["identity"]["id_number"]


async def test_the_consumer_writing_the_flow_at_the_same_moment_is_still_success(
        world: SignatureWorld) -> None:
    # The endpoint's write conflicts with the CertificateValidated consumer's, which moved
    # the flow: the signature step answers its success, not a 500.
    flow = await world.flows.start({"subject_type": "citizen", "method": "usb"})

    def consumer_moves_it(store: SignatureStore) -> None:
        row = store.rows[flow["id"]]
        store.rows[flow["id"]] = replace(
            row, status=SignatureStatus.AWAITING_CONFIRMATION,
            **proof_changes(CertificateProof.from_pki(CITIZEN_PROOF)))

    world.signatures.conflict_once = consumer_moves_it
    accepted = await world.flows.submit_signature(auth(flow) | SIGNED)
    assert accepted["status"] == "awaiting_confirmation"
    assert accepted["identity"]["id_number"] == CITIZEN_IDENTITY["id_number"]


async def test_a_conflict_with_a_writer_that_changed_nothing_is_retried(
        world: SignatureWorld) -> None:
    flow = await world.flows.start({"subject_type": "citizen", "method": "usb"})
    world.signatures.conflict_once = lambda _store: None
    accepted = await world.flows.submit_signature(auth(flow) | SIGNED)
    assert accepted["status"] == "awaiting_confirmation"


async def test_a_retried_signature_answers_the_flow_state(world: SignatureWorld) -> None:
    # Its answer was lost (issue 12): the retry is told the same, pki is not asked again.
    flow = await world.flows.start({"subject_type": "citizen", "method": "usb"})
    first = await world.flows.submit_signature(auth(flow) | SIGNED)
    again = await world.flows.submit_signature(auth(flow) | SIGNED)
    assert again == first
    assert [c for c in world.pki.calls if c[0] == "verify_signature"] == [
        ("verify_signature", flow["id"], "registration")]


async def test_lapsed_flows_answer_expired_and_are_swept(world: SignatureWorld) -> None:
    flow = await world.flows.start({"subject_type": "citizen", "method": "usb"})
    world.clock.advance(minutes=31)
    with pytest.raises(FlowExpired):
        await world.endpoints.get(auth(flow))
    sweeper = SignatureExpirySweeper(
        lambda: FakeSignatureUnitOfWork(world.store, world.signatures), world.clock)
    assert await sweeper.sweep() == 1
    assert world.store.events_of("RegistrationFailed")[0].payload["code"] == "flow_expired"
