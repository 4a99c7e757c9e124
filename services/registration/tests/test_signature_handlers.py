"""Registration with a USB token or a SIM signature: the use cases against in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from services.registration.domain.errors import (
    AccountExists,
    EmailRequired,
    FlowExpired,
    FlowNotFound,
    FlowState,
    PkiRejected,
    ValidationFailed,
)
from services.registration.domain.flow import Status
from services.registration.domain.model import IdentityRecord
from services.registration.domain.signature import CertificateProof, proof_changes
from services.registration.tests.fakes import (
    CITIZEN_IDENTITY,
    CITIZEN_PROOF,
    FakeStore,
    World,
    make_world,
)
from shared.contracts.base import ContractViolation
from shared.events import AccountCreated, CertificateValidated, new_event

ENTERPRISE_PROOF = CITIZEN_PROOF | {
    "subject_type": "enterprise",
    "identity": {"id_type": "MST", "id_number": "0100109106", "tax_code": "0100109106",
                 "full_name": "Công ty TNHH Sen Vàng"},
}


@pytest.fixture
def world() -> World:
    return make_world()


def auth(flow: dict[str, Any]) -> dict[str, str]:
    return {"id": flow["id"], "flow_token": flow["flow_token"]}


SIGNED = {"certificate": "-----BEGIN CERTIFICATE-----", "signature": "c2ln"}


async def test_usb_registration_of_a_citizen(world: World) -> None:
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})
    assert flow["status"] == "awaiting_signature" and flow["challenge"]
    assert world.pki.calls == [("challenge", flow["id"], "registration")]

    accepted = await world.handlers.submit_signature(auth(flow) | SIGNED)
    assert accepted["status"] == "awaiting_confirmation"
    assert accepted["identity"]["id_number"] == "001090001234"
    view = await world.handlers.get(auth(flow))
    assert view["status"] == "awaiting_confirmation" and view["certificate"]["serial"] == "1f"

    done = await world.handlers.confirm(auth(flow) | {"email": "an@example.vn"})
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


async def test_an_enterprise_must_give_an_email(world: World) -> None:
    world.pki.proof = ENTERPRISE_PROOF
    flow = await world.handlers.start({"subject_type": "enterprise", "method": "usb"})
    await world.handlers.submit_signature(auth(flow) | SIGNED)
    with pytest.raises(EmailRequired):
        await world.handlers.confirm(auth(flow))
    assert world.store.events == []
    await world.handlers.confirm(auth(flow) | {"email": "ketoan@senvang.vn"})
    created = world.store.events_of("AccountCreated")[0].parse(AccountCreated)
    assert created.subject_type == "enterprise"
    assert (created.identity.model_extra or {})["tax_code"] == "0100109106"


async def test_a_refused_certificate_changes_nothing(world: World) -> None:
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})
    world.pki.refusal = PkiRejected("certificate_revoked", "Chứng thư số đã bị thu hồi.")
    with pytest.raises(PkiRejected):
        await world.handlers.submit_signature(auth(flow) | SIGNED)
    assert (await world.handlers.get(auth(flow)))["status"] == "awaiting_signature"
    assert world.store.events == [] and world.store.identities == {}
    world.pki.refusal = None  # another certificate, the same challenge
    assert (await world.handlers.submit_signature(auth(flow) | SIGNED))["status"] == \
        "awaiting_confirmation"


async def test_a_duplicate_identity_fails_the_flow(world: World) -> None:
    world.store.identities["CCCD:001090001234"] = IdentityRecord("CCCD:001090001234", "acc",
                                                                 "citizen", world.clock())
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})
    with pytest.raises(AccountExists):
        await world.handlers.submit_signature(auth(flow) | SIGNED)
    view = await world.handlers.get(auth(flow))
    assert view["status"] == "failed" and view["code"] == "account_exists"
    assert [e.type for e in world.store.events] == ["RegistrationFailed"]


async def test_a_duplicate_failed_by_the_consumer_at_the_same_moment_is_still_refused(
        world: World) -> None:
    # The CertificateValidated consumer finds the same duplicate and fails the flow while the
    # signature step is failing it too: the step's write conflicts. The person is told
    # account_exists, not a 500, and the flow fails once (one RegistrationFailed, the
    # consumer's, written by this fake only as the status).
    world.store.identities["CCCD:001090001234"] = IdentityRecord("CCCD:001090001234", "acc",
                                                                 "citizen", world.clock())
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})

    def consumer_fails_it(store: FakeStore) -> None:
        row = store.registrations[flow["id"]]
        store.registrations[flow["id"]] = replace(row, status=Status.FAILED,
                                                  code="account_exists")

    world.store.conflict_once = consumer_fails_it
    with pytest.raises(AccountExists):
        await world.handlers.submit_signature(auth(flow) | SIGNED)
    view = await world.handlers.get(auth(flow))
    assert view["status"] == "failed" and view["code"] == "account_exists"
    assert world.store.events == []


async def test_a_passport_with_the_digits_of_a_cmnd_is_another_person(
        world: World) -> None:
    world.store.identities["CMND:123456789"] = IdentityRecord("CMND:123456789", "acc",
                                                              "citizen", world.clock())
    world.pki.proof = CITIZEN_PROOF | {"identity": {
        "id_type": "HC", "id_number": "123456789", "full_name": "Phạm Thị Dung"}}
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})
    accepted = await world.handlers.submit_signature(auth(flow) | SIGNED)
    assert accepted["status"] == "awaiting_confirmation"
    await world.handlers.confirm(auth(flow))
    assert world.store.identities["HC:123456789"].account_id != "acc"


async def test_a_certificate_of_the_other_subject_type_is_refused(world: World) -> None:
    world.pki.proof = ENTERPRISE_PROOF
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})
    with pytest.raises(ValidationFailed) as err:
        await world.handlers.submit_signature(auth(flow) | SIGNED)
    assert err.value.fields == [{"name": "subject_type", "detail": err.value.detail}]


async def test_steps_out_of_order(world: World) -> None:
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})
    with pytest.raises(FlowState):
        await world.handlers.confirm(auth(flow))
    with pytest.raises(FlowNotFound):
        await world.handlers.get({"id": flow["id"], "flow_token": "wrong"})
    with pytest.raises(ContractViolation):  # no signature: refused by the contract
        await world.handlers.submit_signature(auth(flow) | {"certificate": "x"})
    with pytest.raises(ValidationFailed):  # a blank one: by the service, in its words
        await world.handlers.submit_signature(auth(flow) | {"certificate": "x", "signature": " "})


async def test_a_retried_confirm_answers_the_same_account(world: World) -> None:
    # Its answer was lost (issue 12): the retry gets the same answer, one account.
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})
    await world.handlers.submit_signature(auth(flow) | SIGNED)
    first = await world.handlers.confirm(auth(flow))
    again = await world.handlers.confirm(auth(flow))
    assert again == first and first["status"] == "completed"
    assert len(world.store.events_of("AccountCreated")) == 1


async def test_sim_registration_polls_pki_until_the_owner_answers(world: World) -> None:
    flow = await world.handlers.start({"subject_type": "citizen", "method": "sim",
                                        "phone": "0912 345 678"})
    assert flow["verification_code"] == "4321" and flow["phone_masked"] == "+8491****678"
    assert world.pki.calls == [("sim_start", flow["id"], "+84912345678")]
    assert (await world.handlers.get(auth(flow)))["status"] == "awaiting_signature"
    world.pki.sim_answer = CITIZEN_PROOF
    view = await world.handlers.get(auth(flow))
    assert view["status"] == "awaiting_confirmation" and view["identity"]["full_name"]
    with pytest.raises(FlowState):  # no /signature for a SIM flow
        await world.handlers.submit_signature(auth(flow) | SIGNED)
    await world.handlers.confirm(auth(flow))
    created = world.store.events_of("AccountCreated")[0].parse(AccountCreated)
    assert created.method == "sim" and created.phone == "+84912345678"


@pytest.mark.parametrize("code", ["sim_rejected", "sim_timeout"])
async def test_a_sim_refusal_fails_the_flow_with_its_code(world: World,
                                                          code: str) -> None:
    flow = await world.handlers.start({"subject_type": "citizen", "method": "sim",
                                    "phone": "0912345678"})
    world.pki.refusal = PkiRejected(code, "Từ chối.")
    view = await world.handlers.get(auth(flow))
    assert view["status"] == "failed" and view["code"] == code
    assert world.store.events_of("RegistrationFailed")[0].payload["code"] == code


async def test_certificate_validated_moves_a_flow_whose_answer_was_lost(
        world: World) -> None:
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})
    event = new_event(CertificateValidated(
        flow_id=flow["id"], purpose="registration", subject_type="citizen",
        identity=CITIZEN_IDENTITY, fingerprint_sha256="ab" * 32, serial="1f",
        issuer="CN=x", not_after="2027-01-01T00:00:00Z"), correlation_id=flow["id"])
    await world.certificate_events.on_certificate_validated(event)
    await world.certificate_events.on_certificate_validated(event)  # redelivered: nothing more
    view = await world.handlers.get(auth(flow))
    assert view["status"] == "awaiting_confirmation" and view["identity"]["id_number"]


async def test_the_consumer_writing_the_flow_at_the_same_moment_is_still_success(
        world: World) -> None:
    # The endpoint's write conflicts with the CertificateValidated consumer's, which moved
    # the flow: the signature step answers its success, not a 500.
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})

    def consumer_moves_it(store: FakeStore) -> None:
        row = store.registrations[flow["id"]]
        store.registrations[flow["id"]] = replace(
            row, status=Status.AWAITING_CONFIRMATION,
            **proof_changes(CertificateProof.from_pki(CITIZEN_PROOF)))

    world.store.conflict_once = consumer_moves_it
    accepted = await world.handlers.submit_signature(auth(flow) | SIGNED)
    assert accepted["status"] == "awaiting_confirmation"
    assert accepted["identity"]["id_number"] == CITIZEN_IDENTITY["id_number"]


async def test_a_conflict_with_a_writer_that_changed_nothing_is_retried(
        world: World) -> None:
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})
    world.store.conflict_once = lambda _store: None
    accepted = await world.handlers.submit_signature(auth(flow) | SIGNED)
    assert accepted["status"] == "awaiting_confirmation"


async def test_a_retried_signature_answers_the_flow_state(world: World) -> None:
    # Its answer was lost (issue 12): the retry is told the same, pki is not asked again.
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})
    first = await world.handlers.submit_signature(auth(flow) | SIGNED)
    again = await world.handlers.submit_signature(auth(flow) | SIGNED)
    assert again == first
    assert [c for c in world.pki.calls if c[0] == "verify_signature"] == [
        ("verify_signature", flow["id"], "registration")]


async def test_lapsed_flows_answer_expired_and_are_swept(world: World) -> None:
    flow = await world.handlers.start({"subject_type": "citizen", "method": "usb"})
    world.clock.advance(minutes=31)
    with pytest.raises(FlowExpired):
        await world.handlers.get(auth(flow))
    assert await world.sweeper.sweep() == 1
    assert world.store.events_of("RegistrationFailed")[0].payload["code"] == "flow_expired"
