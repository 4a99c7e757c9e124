"""The profile service's contracts, as the gateway calls them: ``login_start`` reads the variant
its ``method`` names, the shared limits refuse (a password is 256 characters at most, once),
requests are on the wire exactly the payloads profile read before the contracts, and every
answer it gives today reads back unchanged (fields it did not set stay off the wire)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts import profile as PROFILE
from shared.contracts.base import Contract, ContractViolation, Rpc
from shared.rpc import serving

CLIENT = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"}
FLOW = {"id": "7d0c6c1e-8f4e-4c62-9d55-3f0b0d1f9a10", "flow_token": "t" * 43}
SESSION = {"session_token": "s" * 43}
PASSWORD = {"method": "password", "username": "001090001234", "password": "Hoa-Sen#2026vn"}
PROOF = {"certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
         "signature": "c2lnbmF0dXJl"}
AT = "2026-12-01T10:00:00+00:00"
METHOD = {"id": "m-2", "type": "sms", "label": "SMS +8491****678", "created_at": AT,
          "last_used_at": None, "phone_masked": "+8491****678"}


def run(pending: Awaitable[Any]) -> Any:
    async def wait() -> Any:
        return await pending

    return asyncio.run(wait())


@pytest.mark.parametrize(("payload", "variant"), [
    (PASSWORD | CLIENT, PROFILE.PasswordLoginStart),
    (PASSWORD | {"captcha": {"id": "cap-1", "answer": "x7k2"}}, PROFILE.PasswordLoginStart),
    ({"method": "sim", "phone": "0912345678"} | CLIENT, PROFILE.SimLoginStart),
    ({"method": "usb"}, PROFILE.UsbLoginStart),
])
def test_login_start_reads_the_variant_its_method_names(
        payload: dict[str, Any], variant: type[PROFILE.LoginStart]) -> None:
    request = PROFILE.LOGIN_START.request.model_validate(payload)
    assert type(request) is variant and isinstance(request, PROFILE.LoginStart)
    assert request.wire() == payload


def test_the_endpoint_hands_the_variant_to_its_handler() -> None:
    reached: list[PROFILE.LoginStart] = []

    async def start(request: PROFILE.LoginStart) -> PROFILE.LoginStarted:
        reached.append(request)
        return PROFILE.LoginStarted(id="l-1", flow_token="t", status="awaiting_signature",
                                    expires_at=AT, challenge="AAEC")

    answer = run(serving(PROFILE.LOGIN_START, start)({"method": "usb"}))
    assert answer == {"id": "l-1", "flow_token": "t", "status": "awaiting_signature",
                      "expires_at": AT, "challenge": "AAEC"}
    assert [type(r) for r in reached] == [PROFILE.UsbLoginStart]
    with pytest.raises(ContractViolation):
        run(serving(PROFILE.LOGIN_START, start)(PASSWORD | {"password": 12345678}))
    assert len(reached) == 1


@pytest.mark.parametrize("payload", [
    PASSWORD | {"method": "fax"},
    {k: v for k, v in PASSWORD.items() if k != "password"},
    PASSWORD | {"password": "x" * 257},  # one limit for a password, the gateway's
    PASSWORD | {"username": "0" * 65},
    PASSWORD | {"password": 12345678},  # a number is no password
    {"method": "usb", "phone": "0912345678"},  # a field of another method
    {"method": "sim", "phone": "0" * 33},
    PASSWORD | {"ip": "1" * 65},
])
def test_login_start_refuses_what_no_method_reads(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PROFILE.LoginStart.model_validate(payload)


@pytest.mark.parametrize(("model", "payload"), [
    (PROFILE.LoginOtp, FLOW | {"code": "1" * 17}),
    (PROFILE.LoginOtp, {"id": "x" * 65, "flow_token": "t", "code": "123456"}),
    (PROFILE.LoginStep, {"id": "l-1", "flow_token": "t" * 201}),
    (PROFILE.LoginSignature, FLOW | PROOF | {"signature": "s" * 4001}),
    (PROFILE.LoginSignature, FLOW | PROOF | {"chain": ["c"] * 9}),
    (PROFILE.FirstPassword, FLOW | {"new_password": "x" * 257,
                                    "new_password_confirmation": "x"}),
    (PROFILE.ResetPassword, FLOW | {"password": "", "password_confirmation": ""}),
    (PROFILE.PasswordChange, SESSION | {"current_password": "a", "new_password": "b",
                                        "new_password_confirmation": "b",
                                        "end_other_sessions": "yes"}),
    (PROFILE.NewMethod, SESSION | {"type": "email"}),
    (PROFILE.StepUpStart, SESSION | {"method": "password", "password": "x" * 257}),
    (PROFILE.ActivityPage, SESSION | {"before": 2**63}),
    (PROFILE.LoginHistoryPage, SESSION | {"limit": 101}),
    (PROFILE.SessionRef, {"session_token": ""}),
    (PROFILE.NewCaptcha, {"kind": "video"}),
])
def test_the_shared_limits_refuse(model: type[Contract], payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(payload)


def test_any_session_token_reaches_profile_to_be_found_or_not() -> None:
    # A token that names no live session is profile's "unauthenticated", however long.
    long = {"session_token": "s" * 4096}
    assert PROFILE.SessionRef.model_validate(long).wire() == long


@pytest.mark.parametrize(("model", "payload"), [
    (PROFILE.LoginOtp, FLOW | {"code": "123456"} | CLIENT),
    (PROFILE.LoginSignature, FLOW | PROOF | {"chain": [PROOF["certificate"]]}),
    (PROFILE.OtpPhoneChoice, FLOW | {"phone_id": "p-2"} | CLIENT),
    (PROFILE.LostPhone, FLOW | {"phone": "0888000555"}),
    (PROFILE.FirstPassword, FLOW | {"new_password": "Sen-Vang#2027vn",
                                    "new_password_confirmation": "Sen-Vang#2027vn"}),
    (PROFILE.ResetStart, {"username": "001090001234"} | CLIENT),
    (PROFILE.ResetOtp, FLOW | {"code": "123456"}),
    (PROFILE.NewCaptcha, {"kind": "audio", "ip": "203.0.113.7"}),
    (PROFILE.LoginHistoryPage, SESSION | {"limit": 10, "before": "2026-12-01T10:00:00Z"}),
    (PROFILE.ActivityPage, SESSION | {"limit": 20, "before": 41}),
    (PROFILE.PasswordChange, SESSION | {"current_password": "a", "new_password": "b",
                                        "new_password_confirmation": "b",
                                        "end_other_sessions": True} | CLIENT),
    (PROFILE.NewMethod, SESSION | {"type": "sim", "phone": "0912345678"}),
    (PROFILE.MethodOtp, SESSION | FLOW | {"code": "123456"}),
    (PROFILE.MethodSignature, SESSION | FLOW | PROOF),
    (PROFILE.MethodTarget, SESSION | {"method_id": "m-2"}),
    (PROFILE.SessionTarget, SESSION | {"session_id": "s-2"}),
    (PROFILE.StepUpStart, SESSION | {"method": "password", "password": "Hoa-Sen#2026vn",
                                     "captcha": {"id": "cap-1", "answer": "x7k2"}}),
    (PROFILE.StepUpOtp, SESSION | {"id": "su-1", "code": "123456"}),
    (PROFILE.StepUpSignature, SESSION | {"id": "su-1"} | PROOF),
])
def test_requests_are_the_payloads_profile_reads(model: type[Contract],
                                                 payload: dict[str, Any]) -> None:
    assert model.model_validate(payload).wire() == payload


def test_a_contacts_update_keeps_absent_apart_from_cleared_and_names_other_fields() -> None:
    # PATCH /me: a field not sent is left alone, null (or "") clears it; an identity field is
    # passed on, for profile to refuse as read-only naming it.
    assert PROFILE.UpdateContacts.model_validate(SESSION | {"address": "Hà Nội"}).wire() == \
        SESSION | {"address": "Hà Nội"}
    assert PROFILE.UpdateContacts.model_validate(SESSION | {"email": ""}).wire() == \
        SESSION | {"email": None}
    identity = SESSION | {"full_name": "Nguyễn Văn B"}
    assert PROFILE.UpdateContacts.model_validate(identity).wire() == identity


ANSWERS: list[tuple[Rpc[Any, Any], dict[str, Any]]] = [
    (PROFILE.LOGIN_START, {"id": "l-1", "flow_token": "t", "status": "otp_sent",
                           "phone_masked": "+8491****678",
                           "alternatives": [{"phone_id": "p-2", "phone_masked": "+8498****321"}],
                           "expires_at": AT, "resend_available_at": None}),
    (PROFILE.LOGIN_START, {"id": "l-1", "flow_token": "t", "status": "password_change_required",
                           "expires_at": AT}),
    (PROFILE.LOGIN_START, {"id": "l-1", "flow_token": "t", "status": "awaiting_signature",
                           "expires_at": AT, "verification_code": "0420",
                           "phone_masked": "+8491****678"}),
    (PROFILE.LOGIN_GET, {"id": "l-1", "status": "otp_sent", "method": "password",
                         "phone_masked": "+8491****678"}),
    (PROFILE.LOGIN_GET, {"id": "l-1", "status": "completed", "method": "sim",
                         "session_token": "s", "session_id": "s-1", "expires_at": AT,
                         "level": 3}),
    (PROFILE.LOGIN_GET, {"id": "l-1", "status": "failed", "method": "sim",
                         "phone_masked": "+8491****678", "code": "sim_rejected"}),
    (PROFILE.LOGIN_SUBMIT_OTP, {"status": "completed", "session_token": "s",
                                "session_id": "s-1", "expires_at": AT, "level": 2}),
    (PROFILE.LOGIN_SUBMIT_SIGNATURE, {"id": "l-1", "status": "completed", "method": "usb",
                                      "session_token": "s", "session_id": "s-1",
                                      "expires_at": AT, "level": 3}),
    (PROFILE.LOGIN_RESEND_OTP, {"status": "otp_sent", "resend_available_at": AT}),
    (PROFILE.CAPTCHA_NEW, {"captcha_id": "c-1", "image": "data:image/png;base64,iVBO",
                           "expires_at": AT, "audio": "data:audio/wav;base64,UklG"}),
    (PROFILE.LOGIN_LOST_PHONE, {"status": "otp_sent", "phone_masked": "+8488****555",
                                "resend_available_at": AT}),
    (PROFILE.RESET_START, {"id": "r-1", "flow_token": "t", "status": "otp_sent",
                           "phone_masked": "+8491****678", "expires_at": AT,
                           "resend_available_at": AT}),
    (PROFILE.RESET_SUBMIT_OTP, {"status": "awaiting_password"}),
    (PROFILE.AUTHENTICATE, {"account_id": "a-1", "session_id": "s-1", "level": 2,
                            "expires_at": AT}),
    (PROFILE.ME, {"account_id": "a-1", "subject_type": "citizen", "level": 2,
                  "identity": {"id_number": "001090001234", "full_name": "Nguyễn Văn An",
                               "birth_date": "1990-05-17", "sex": "male", "addresses": []},
                  "contacts": {"phones": [{"phone_id": "p-1", "phone_masked": "+8491****678",
                                           "otp": True}], "email": None, "address": None},
                  "editable": ["email", "address"], "roles": ["agent"],
                  "organisation": {"name": "Bưu điện Hà Nội", "code": "HN-001"}}),
    (PROFILE.LOGOUT, {}),
    (PROFILE.AGENT_SESSION, {"account_id": "a-1", "session_id": "s-1", "level": 2,
                             "office": {"name": "Bưu điện Hà Nội", "code": "HN-001"}}),
    (PROFILE.ME_LOGINS, {"items": [{"at": AT, "method": "password", "result": "failure",
                                    "reason": "invalid_credentials", "ip": None,
                                    "user_agent": None}], "next_before": AT}),
    (PROFILE.ME_SESSIONS, {"items": [{"id": "s-1", "created_at": AT, "last_seen_at": AT,
                                      "ip": "203.0.113.7", "user_agent": "Mozilla/5.0",
                                      "level": 2, "method": "password", "current": True,
                                      "expires_at": AT}]}),
    (PROFILE.ME_AUTH_METHODS, {"items": [METHOD, {
        "id": "m-3", "type": "usb", "label": "USB ký số: Nguyễn Văn An", "created_at": AT,
        "last_used_at": AT, "certificate": {"serial": "01", "issuer": "CN=CA"}}]}),
    (PROFILE.ME_ADD_METHOD, {"id": "f-1", "type": "sms", "status": "otp_sent",
                             "expires_at": AT, "phone_masked": "+8498****321",
                             "flow_token": "t", "resend_available_at": None}),
    (PROFILE.ME_METHOD_GET, {"id": "f-1", "type": "sim", "status": "completed",
                             "expires_at": AT, "method_id": "m-4", "method": METHOD}),
    (PROFILE.ME_METHOD_OTP, METHOD),
    (PROFILE.ME_REAUTH_START, {"id": "su-1", "method": "usb", "status": "awaiting_signature",
                               "expires_at": AT, "challenge": "AAEC"}),
    (PROFILE.ME_REAUTH_OTP, {"status": "completed", "level": 2, "reauthenticated_at": AT,
                             "valid_until": AT}),
    (PROFILE.ME_ACTIVITY, {"items": [{"seq": 42, "at": AT, "kind": "login_failed",
                                      "details": {"failures": 3, "window_start": AT}}],
                           "next_before": 42}),
]


@pytest.mark.parametrize(("rpc", "answer"), ANSWERS,
                         ids=[f"{rpc.endpoint}-{i}" for i, (rpc, _) in enumerate(ANSWERS)])
def test_every_answer_reads_back_unchanged(rpc: Rpc[Any, Any], answer: dict[str, Any]) -> None:
    assert rpc.answer.model_validate(answer).wire() == answer


def test_every_endpoint_the_gateway_calls_has_its_constant() -> None:
    called = {"login_start", "login_get", "login_submit_otp", "login_resend_otp",
              "login_submit_signature", "captcha_new", "login_otp_phone", "login_lost_phone",
              "login_change_password", "reset_start", "reset_resend_otp", "reset_submit_otp",
              "reset_set_password", "authenticate", "me", "logout", "agent_session",
              "me_update", "me_logins", "me_sessions", "me_end_session", "me_auth_methods",
              "me_change_password", "me_add_method", "me_method_get", "me_method_otp",
              "me_method_signature", "me_remove_method", "me_reauth_start", "me_reauth_get",
              "me_reauth_otp", "me_reauth_signature", "me_activity", "password_policy"}
    constants = {value.endpoint: (name, value) for name, value in vars(PROFILE).items()
                 if isinstance(value, Rpc)}
    assert called <= set(constants)
    for endpoint in called:
        name, rpc = constants[endpoint]
        assert name == endpoint.upper() and rpc.subject == f"dvcid.profile.{endpoint}"
