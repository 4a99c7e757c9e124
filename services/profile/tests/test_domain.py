"""Pure rules: masking, accounts from registrations, flows, sessions, errors, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.profile.domain.errors import (
    FlowExpired,
    FlowState,
    InvalidCredentials,
    NoOtpPhone,
    OtpRejected,
    ProfileError,
)
from services.profile.domain.models import (
    Identity,
    LoginFlow,
    Session,
    SessionPolicy,
    open_account,
    open_session,
)
from services.profile.tests.fakes import sequential_ids
from shared.contracts.base import ContractViolation
from shared.contracts.profile import LOGIN_START, LoginStart, LoginStarted
from shared.phones import mask_phone
from shared.rpc import serving

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_mask_keeps_country_code_two_digits_and_last_three() -> None:
    assert mask_phone("+84912345567") == "+8491****567"
    assert mask_phone("+84381234678") == "+8438****678"


def _account(**overrides: object) -> object:
    fields: dict[str, object] = dict(
        account_id="acc", registration_id="reg", subject_type="citizen", method="mobile",
        level=2, identity=Identity("001099012345", "Nguyễn Văn A", "1999-01-02", "male"),
        phone="+84912345567", email="a@example.vn", password_hash="$argon2id$...",
        created_at=NOW, certificate={}, new_id=sequential_ids())
    fields.update(overrides)
    return open_account(**fields)  # type: ignore[arg-type]


def test_a_citizen_account_logs_in_with_its_id_number_password_and_sms() -> None:
    account = _account()
    assert account.username == "001099012345"  # type: ignore[attr-defined]
    assert [m.type for m in account.auth_methods] == ["password", "sms"]  # type: ignore[attr-defined]
    phone = account.login_phone()  # type: ignore[attr-defined]
    assert phone.phone == "+84912345567" and phone.otp


def test_an_enterprise_signing_up_with_a_sim_has_no_username_and_a_sim_method() -> None:
    account = _account(subject_type="enterprise", method="sim", password_hash=None, phone=None,
                       identity=Identity("0101243150", "Công ty ABC"),
                       certificate={"fingerprint_sha256": "ab" * 32})
    assert account.username is None  # type: ignore[attr-defined]
    [method] = account.auth_methods  # type: ignore[attr-defined]
    assert method.type == "sim" and method.details == {"fingerprint_sha256": "ab" * 32}
    with pytest.raises(NoOtpPhone) as err:
        account.login_phone()  # type: ignore[attr-defined]
    assert err.value.code == "flow_state"


def _flow(status: str = "otp_sent") -> LoginFlow:
    return LoginFlow("f", "acc", "password", status, "hash", "+84912345567", "p", NOW,  # type: ignore[arg-type]
                     NOW + timedelta(minutes=10))


def test_a_flow_takes_a_code_only_while_it_waits_for_one() -> None:
    _flow().ensure_awaiting_otp(NOW + timedelta(minutes=9))
    with pytest.raises(FlowExpired):
        _flow().ensure_awaiting_otp(NOW + timedelta(minutes=10))
    with pytest.raises(FlowState):
        _flow("completed").ensure_awaiting_otp(NOW)
    _flow("completed").ensure_readable(NOW + timedelta(hours=1))


def test_a_session_ends_at_the_earlier_of_idle_and_absolute_limits() -> None:
    policy = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
    session = open_session(session_id="s", token_hash="h", flow=_flow(), level=2,
                           policy=policy, now=NOW, ip=None, user_agent=None)
    assert session.expires_at == NOW + timedelta(minutes=30)
    assert session.is_active(NOW + timedelta(minutes=29))
    assert not session.is_active(NOW + timedelta(minutes=30))
    late = Session(**{**session.__dict__, "idle_expires_at": NOW + timedelta(hours=13)})
    assert late.expires_at == NOW + timedelta(hours=12)
    revoked = Session(**{**session.__dict__, "revoked_at": NOW})
    assert not revoked.is_active(NOW)


def test_errors_carry_a_stable_code_and_a_vietnamese_detail() -> None:
    error = InvalidCredentials().to_error()
    assert error == {"code": "invalid_credentials",
                     "detail": "Tên đăng nhập hoặc mật khẩu không đúng."}
    passed = OtpRejected("otp_resend_too_soon", "Vui lòng chờ.", retry_after=42)
    assert isinstance(passed, ProfileError)
    assert passed.to_error() == {"code": "otp_resend_too_soon", "detail": "Vui lòng chờ.",
                                 "retry_after": 42}


async def test_a_bad_request_names_its_fields_without_echoing_a_password() -> None:
    async def never(request: LoginStart) -> LoginStarted:
        raise AssertionError("a bad request reaches no use case")

    endpoint = serving(LOGIN_START, never)
    named: set[str] = set()
    # The method picks the request's variant: an unknown one refuses the request as a whole
    # (pydantic places a discriminator's error at the body), a known one names its fields.
    for payload in ({"method": "sms", "username": "", "password": "Secret#123"},
                    {"method": "password", "username": "", "password": "Secret#123"}):
        with pytest.raises(ContractViolation) as err:
            await endpoint(payload)
        error = err.value.to_error()
        assert error["code"] == "validation_error"
        assert "Secret#123" not in repr(error)
        named |= {f["name"].rsplit(".", 1)[-1] for f in error["fields"]}
    assert named == {"body", "username"}
