"""The registration service's contracts: ``start`` reads the variant its ``method`` names, the
shared limits refuse, requests are on the wire exactly the payloads the service read before
the contracts, and every answer it gives today reads back unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts import registration as REG
from shared.contracts.base import Contract, ContractViolation, Rpc
from shared.contracts.fields import (
    Email,
    FlowRef,
    IdNumber,
    IsoDate,
    Office,
    Pem,
    Phone,
    max_length,
)
from shared.rpc import serving

MOBILE = {"method": "mobile", "subject_type": "citizen", "id_number": "001090001234",
          "full_name": "Nguyễn Văn An", "birth_date": "1990-05-12", "sex": "male",
          "phone": "0912345678"}
BHXH = {"method": "bhxh", "subject_type": "citizen", "bhxh_code": "0123456789",
        "id_number": "001090001234", "full_name": "Nguyễn Văn An", "birth_date": "1990-05-12",
        "phone": "0912345678"}
SIM = {"method": "sim", "subject_type": "enterprise", "phone": "0912345678"}
USB = {"method": "usb", "subject_type": "citizen"}
FLOW = {"id": "7d0c6c1e-8f4e-4c62-9d55-3f0b0d1f9a10", "flow_token": "t" * 43}
AGENT = {"agent_account_id": "agent-1", "office": {"name": "Bưu điện Hà Nội", "code": "HN-001"}}


@pytest.mark.parametrize(("payload", "variant"), [
    (MOBILE, REG.MobileStart), (BHXH, REG.BhxhStart), (SIM, REG.SimStart), (USB, REG.UsbStart),
])
def test_start_reads_the_variant_its_method_names(payload: dict[str, Any],
                                                  variant: type[REG.StartRegistration]) -> None:
    request = REG.START.request.model_validate(payload)
    assert type(request) is variant
    assert request.wire() == payload


@pytest.mark.parametrize("payload", [
    MOBILE | {"method": "fax"},
    {k: v for k, v in MOBILE.items() if k != "method"},
    USB | {"phone": "0912345678"},  # a field of another method
    BHXH | {"sex": "male"},  # the BHXH form does not ask for it
    SIM | {"phone": None},
    MOBILE | {"subject_type": "agency"},
])
def test_start_refuses_what_no_method_reads(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        REG.StartRegistration.model_validate(payload)


def test_a_page_may_leave_the_person_fields_out_for_the_service_to_name() -> None:
    # The web form sends no blank field; the service says, in its words, what is missing.
    bare = {"method": "mobile", "subject_type": "citizen"}
    assert REG.StartRegistration.model_validate(bare).wire() == bare
    counter = AGENT | {"id_document_checked": True}
    assert REG.CounterStart.model_validate(counter).wire() == counter
    assert REG.SetPassword.model_validate(FLOW).wire() == FLOW


def test_a_blank_email_is_no_email() -> None:
    request = REG.StartRegistration.model_validate(MOBILE | {"email": ""})
    assert isinstance(request, REG.MobileStart) and request.email is None
    assert REG.ConfirmIdentity.model_validate(FLOW | {"email": ""}).email is None


@pytest.mark.parametrize(("model", "payload", "field"), [
    (REG.StartRegistration, MOBILE | {"id_number": "1" * 21}, "id_number"),
    (REG.StartRegistration, MOBILE | {"full_name": "A" * 201}, "full_name"),
    (REG.StartRegistration, MOBILE | {"phone": "0" * 33}, "phone"),
    (REG.StartRegistration, MOBILE | {"email": "a" * 250 + "@x.vn"}, "email"),
    (REG.StartRegistration, MOBILE | {"birth_date": "12/05/1990"}, "birth_date"),
    (REG.StartRegistration, MOBILE | {"birth_date": 19900512}, "birth_date"),
    (REG.StartRegistration, MOBILE | {"sex": "m"}, "sex"),
    (REG.StartRegistration, MOBILE | {"id_number": 1090001234}, "id_number"),
    (REG.SubmitOtp, FLOW | {"code": "1" * 17}, "code"),
    (REG.SubmitOtp, FLOW | {"code": 123456}, "code"),
    (REG.SetPassword, FLOW | {"password": "x" * 257, "password_confirmation": "x"}, "password"),
    (REG.SubmitSignature, FLOW | {"certificate": "P" * 64_001, "signature": "s"}, "certificate"),
    (REG.SubmitSignature, FLOW | {"certificate": "P", "signature": "s" * 4_001}, "signature"),
    (REG.SubmitSignature, FLOW | {"certificate": "P", "signature": "s", "chain": ["P"] * 9},
     "chain"),
    (REG.ReadRegistration, FLOW | {"wait": "yes"}, "wait"),
    (REG.ReadRegistration, FLOW | {"id": "x" * 65}, "id"),
    (REG.ReadRegistration, FLOW | {"flow_token": "t" * 201}, "flow_token"),
    (REG.CounterStart, AGENT | {"id_document_checked": "true"}, "id_document_checked"),
    (REG.CounterStart, AGENT | {"office": {"name": ""}}, "office"),
    (REG.CounterOtp, AGENT | {"id": "c-1"}, "code"),
])
def test_the_shared_limits_refuse(model: type[Contract], payload: dict[str, Any],
                                  field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(payload)
    assert field in {str(part) for error in refused.value.errors() for part in error["loc"]}


def test_a_misfit_never_reaches_the_handler_and_its_fields_are_named() -> None:
    reached: list[REG.StartRegistration] = []

    async def start(request: REG.StartRegistration) -> REG.RegistrationStarted:
        reached.append(request)
        raise AssertionError("not reached")

    with pytest.raises(ContractViolation) as refused:
        asyncio.run(_wait(serving(REG.START, start)(MOBILE | {"phone": "0" * 33})))
    assert refused.value.to_error()["fields"] == [{"name": "phone",
                                                   "detail": "Quá dài (tối đa 32 ký tự)."}]
    with pytest.raises(ContractViolation) as refused:
        asyncio.run(_wait(serving(REG.START, start)(MOBILE | {"method": "fax"})))
    assert "method" in refused.value.fields
    assert reached == []


async def _wait(pending: Awaitable[Any]) -> Any:
    return await pending


def test_the_requests_are_on_the_wire_the_payloads_the_service_reads() -> None:
    read = REG.ReadRegistration.model_validate(FLOW)
    assert read.wire() == FLOW  # no "wait" unless asked
    assert read.model_copy(update={"wait": True}).wire() == FLOW | {"wait": True}
    assert REG.SubmitOtp(**FLOW, code="123456").wire() == FLOW | {"code": "123456"}
    assert FlowRef(**FLOW).wire() == FLOW
    signed = FLOW | {"certificate": "PEM", "chain": ["PEM2"], "signature": "c2ln"}
    assert REG.SubmitSignature.model_validate(signed).wire() == signed
    agent = REG.CounterAgent(agent_account_id="agent-1",
                             office=Office(name="Bưu điện Hà Nội", code="HN-001"))
    assert agent.wire() == AGENT
    assert REG.CounterOtp(id="c-1", code="123456", **dict(agent)).wire() == (
        AGENT | {"id": "c-1", "code": "123456"})


IDENTITY = {"id_number": "001090001234", "full_name": "Nguyễn Văn An",
            "birth_date": "1990-05-12", "sex": "male"}
CERTIFIED = {"id_type": "MST", "id_number": "0101234567", "full_name": "Công ty TNHH An",
             "tax_code": "0101234567"}


@pytest.mark.parametrize(("model", "answer"), [
    (REG.RegistrationStarted, {"id": "r", "flow_token": "t", "status": "otp_sent",
                               "expires_at": "2026-01-01T00:30:00Z",
                               "phone_masked": "+8491****678",
                               "resend_available_at": "2026-01-01T00:01:00Z"}),
    (REG.RegistrationStarted, {"id": "r", "flow_token": "t", "status": "awaiting_signature",
                               "expires_at": "2026-01-01T00:30:00Z", "challenge": "Y2g="}),
    (REG.RegistrationStarted, {"id": "r", "flow_token": "t", "status": "awaiting_signature",
                               "expires_at": "2026-01-01T00:30:00Z",
                               "verification_code": "1234", "phone_masked": "+8491****678"}),
    (REG.RegistrationView, {"id": "r", "status": "otp_sent", "method": "mobile",
                            "subject_type": "citizen", "identity": IDENTITY,
                            "phone_masked": "+8491****678",
                            "expires_at": "2026-01-01T00:30:00Z", "code": "sms_failed"}),
    (REG.RegistrationView, {"id": "r", "status": "creating_account", "method": "bhxh",
                            "subject_type": "citizen", "identity": IDENTITY,
                            "phone_masked": "+8491****678",
                            "expires_at": "2026-01-01T00:30:00Z", "account_id": "a",
                            "level": 2}),
    (REG.RegistrationView, {"id": "r", "status": "awaiting_confirmation", "method": "usb",
                            "subject_type": "enterprise",
                            "expires_at": "2026-01-01T00:30:00Z", "identity": CERTIFIED,
                            "certificate": {"serial": "01", "issuer": "CN=CA",
                                            "not_after": None}}),
    (REG.RegistrationView, {"id": "r", "status": "failed", "method": "sim",
                            "subject_type": "citizen", "expires_at": "2026-01-01T00:30:00Z",
                            "phone_masked": "+8491****678", "code": "sim_rejected"}),
    (REG.StepDone, {"status": "awaiting_password"}),
    (REG.OtpResent, {"status": "otp_sent", "resend_available_at": "2026-01-01T00:02:00Z"}),
    (REG.RegistrationCompleted, {"status": "completed", "account_id": "a", "level": 2}),
    (REG.RegistrationCompleted, {"status": "creating_account", "account_id": "a", "level": 3}),
    (REG.SignatureAccepted, {"status": "awaiting_confirmation", "identity": CERTIFIED,
                             "subject_type": "enterprise"}),
    (REG.AgentRegistrationStarted, {"id": "c", "status": "otp_sent", "phone_masked": "+8491****678",
                          "expires_at": "2026-01-01T00:15:00Z",
                          "otp_expires_at": "2026-01-01T00:05:00Z",
                          "resend_available_at": "2026-01-01T00:01:00Z"}),
    (REG.AgentRegistrationStarted, {"id": "c", "status": "otp_sent", "phone_masked": "+8491****678",
                          "otp_expires_at": "2026-01-01T00:05:00Z",
                          "resend_available_at": "2026-01-01T00:01:00Z"}),
    (REG.AgentRegistrationCreated, {"account_id": "a", "username": "BD0123456789", "level": 3,
                            "phone_masked": "+8491****678", "status": "creating_account",
                            "initial_password_sent": False}),
])
def test_every_answer_reads_back_unchanged(model: type[Contract], answer: dict[str, Any]) -> None:
    assert model.model_validate(answer).wire() == answer
    # A field the service adds before this contract names it still reaches the caller.
    assert model.model_validate(answer | {"later_field": 1}).wire() == answer | {"later_field": 1}


def test_an_answer_outside_its_contract_is_refused() -> None:
    with pytest.raises(ValidationError):
        REG.RegistrationStarted.model_validate({"id": "r", "status": "otp_sent"})
    with pytest.raises(ValidationError):
        REG.StepDone.model_validate({"status": "somewhere_else"})


def test_every_endpoint_is_one_constant_of_the_registration_service() -> None:
    endpoints = {rpc.endpoint for rpc in vars(REG).values() if isinstance(rpc, Rpc)}
    assert endpoints == {"start", "get", "submit_otp", "resend_otp", "set_password",
                         "submit_signature", "confirm", "agent_register_start",
                         "agent_register_resend", "agent_register_confirm"}
    assert {rpc.service for rpc in vars(REG).values() if isinstance(rpc, Rpc)} == {
        "registration"}


def test_a_field_types_limit_is_readable_for_the_forms() -> None:
    assert [max_length(t) for t in (IdNumber, Phone, Email, Pem)] == [20, 32, 254, 64_000]
    with pytest.raises(ValueError):
        max_length(IsoDate)
