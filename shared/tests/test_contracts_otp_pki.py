"""The contracts of otp and pki (shared/contracts/otp.py, pki.py): what a caller may send, what
comes back, and that an answer read back is the JSON its owner sent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest

from shared.contracts import otp as OTP
from shared.contracts import pki as PKI
from shared.contracts.base import Contract, ContractViolation, Rpc
from shared.rpc import serving

PHONE = "+84912345678"


def run(pending: Awaitable[Any]) -> Any:
    async def wait() -> Any:
        return await pending

    return asyncio.run(wait())


def refused_fields(rpc: Rpc[Any, Any], payload: dict[str, Any]) -> list[str]:
    async def unreachable(request: Contract) -> Any:
        raise AssertionError("a refused request never reaches the handler")

    with pytest.raises(ContractViolation) as refused:
        run(serving(rpc, unreachable)(payload))
    return refused.value.fields


def test_every_endpoint_has_its_subject() -> None:
    assert [rpc.subject for rpc in (OTP.ISSUE, OTP.VERIFY, OTP.SEND_NOTICE,
                                    OTP.SEND_EMAIL_NOTICE, OTP.POLICY)] == [
        "dvcid.otp.issue", "dvcid.otp.verify", "dvcid.otp.send_notice",
        "dvcid.otp.send_email_notice", "dvcid.otp.policy"]
    assert [rpc.subject for rpc in (PKI.STATUS, PKI.CHALLENGE, PKI.VERIFY_SIGNATURE,
                                    PKI.SIM_START, PKI.SIM_STATUS)] == [
        "dvcid.pki.status", "dvcid.pki.challenge", "dvcid.pki.verify_signature",
        "dvcid.pki.sim_start", "dvcid.pki.sim_status"]


# --- otp -------------------------------------------------------------------------------------

def test_an_issue_names_a_flow_a_known_purpose_and_an_e164_number() -> None:
    request = OTP.IssueOtp.model_validate({"flow_id": "f", "purpose": "counter", "phone": PHONE})
    assert request.wire() == {"flow_id": "f", "purpose": "counter", "phone": PHONE}
    assert refused_fields(OTP.ISSUE, {"flow_id": "", "purpose": "dance",
                                      "phone": "0912345678"}) == ["flow_id", "phone", "purpose"]
    assert refused_fields(OTP.ISSUE, {"flow_id": "f" * 129, "purpose": "login",
                                      "phone": 84912345678}) == ["flow_id", "phone"]


def test_a_code_travels_as_typed_within_its_bound() -> None:
    # Its shape (six digits) is otp's to judge, in its own words: the contract only bounds it.
    request = OTP.VerifyOtp.model_validate({"flow_id": "f", "purpose": "login",
                                            "code": " 12345 ", "phone": PHONE})
    assert request.code == " 12345 "
    assert refused_fields(OTP.VERIFY, {"flow_id": "f", "purpose": "login", "code": "1" * 17,
                                       "phone": PHONE}) == ["code"]
    assert refused_fields(OTP.VERIFY, {"flow_id": "f", "purpose": "login",
                                       "code": "123456"}) == ["phone"]


def test_a_notice_names_a_template_and_never_echoes_a_parameter() -> None:
    secret = "x" * 300
    fields = refused_fields(OTP.SEND_NOTICE, {
        "phone": PHONE, "purpose": "registration", "body_kind": "free_text",
        "params": {"username": "BD0123456789", "password": secret}})
    assert fields == ["body_kind", "params.password"]
    assert secret not in str(fields)
    request = OTP.SendNotice.model_validate({"phone": PHONE, "purpose": "login",
                                             "body_kind": "security_change"})
    assert request.params == {}
    assert refused_fields(OTP.SEND_EMAIL_NOTICE, {"email": "a@example.vn",
                                                  "body_kind": "initial_password"}) == ["body_kind"]


def test_otp_answers_read_back_as_sent() -> None:
    issued = {"challenge_id": "c-1", "phone_masked": "+8491****678",
              "expires_at": "2026-03-01T08:05:00+00:00",
              "resend_available_at": "2026-03-01T08:01:00+00:00"}
    assert OTP.IssuedOtp.model_validate(issued).wire() == issued
    verified = {"verified": True, "phone": PHONE, "challenge_id": "c-1"}
    assert OTP.VerifiedOtp.model_validate(verified).wire() == verified
    # No mail relay: no sent_at on the wire, not a null one.
    assert OTP.EmailNoticeSent.model_validate({"sent": False}).wire() == {"sent": False}
    policy = {"code_digits": 6, "code_lifetime_seconds": 300, "resend_interval_seconds": 60,
              "max_attempts": 5}
    assert OTP.OtpPolicy.model_validate(policy).wire() == policy


# --- pki -------------------------------------------------------------------------------------

SIGNED = {"flow_id": "f", "purpose": "login", "certificate": "-----BEGIN CERTIFICATE-----",
          "signature": "AA=="}


@pytest.mark.parametrize("chain", [None, "-----BEGIN CERTIFICATE-----", ["a", "b"], []])
def test_a_chain_is_a_list_of_certificates_or_one_text_of_them(chain: Any) -> None:
    payload = SIGNED if chain is None else SIGNED | {"chain": chain}
    assert PKI.VerifySignature.model_validate(payload).wire() == payload


def test_signature_inputs_are_bounded() -> None:
    # Neither a list of at most 8 nor one text: both forms of the union are named.
    too_long = refused_fields(PKI.VERIFY_SIGNATURE, SIGNED | {"chain": ["a"] * 9})
    assert {field.split(".")[0] for field in too_long} == {"chain"}
    assert refused_fields(PKI.VERIFY_SIGNATURE, SIGNED | {"signature": "A" * 4001}) == ["signature"]
    assert refused_fields(PKI.VERIFY_SIGNATURE, SIGNED | {"certificate": 42}) == ["certificate"]
    # "counter" is otp's purpose only: no signature is asked at the counter.
    assert refused_fields(PKI.CHALLENGE, {"flow_id": "f", "purpose": "counter"}) == ["purpose"]


def test_a_poll_waits_a_non_negative_number_of_seconds() -> None:
    flow = {"flow_id": "f", "purpose": "registration"}
    assert PKI.SimStatus.model_validate(flow).wait_seconds == 0
    assert PKI.SimStatus.model_validate(flow | {"wait_seconds": 2}).wait_seconds == 2.0
    for wait in (-1, True, "2", float("nan")):
        assert refused_fields(PKI.SIM_STATUS, flow | {"wait_seconds": wait}) == ["wait_seconds"]
    assert refused_fields(PKI.SIM_START, flow | {"phone": "0912345678"}) == ["phone"]


def test_pki_answers_read_back_as_sent() -> None:
    validated = {"identity": {"id_type": "CCCD", "id_number": "001090001234",
                              "full_name": "Nguyễn Văn An"},
                 "subject_type": "citizen", "fingerprint_sha256": "ab" * 32, "serial": "1f",
                 "issuer": "CN=DVCID Sandbox Issuing CA", "not_after": "2027-01-01T00:00:00Z",
                 "level": 3}
    assert PKI.ValidatedCertificate.model_validate(validated).wire() == validated
    enterprise = validated | {"subject_type": "enterprise",
                              "identity": {"id_type": "MST", "id_number": "0100109106",
                                           "full_name": "Công ty", "tax_code": "0100109106"}}
    assert PKI.ValidatedCertificate.model_validate(enterprise).wire() == enterprise
    assert PKI.SimState.model_validate({"status": "pending"}).wire() == {"status": "pending"}
    completed = {"status": "completed", **validated}
    assert PKI.SimState.model_validate(completed).wire() == completed
    started = {"verification_code": "0421", "expires_at": "2026-03-01T08:05:00Z",
               "status": "pending"}
    assert PKI.SimStarted.model_validate(started).wire() == started
