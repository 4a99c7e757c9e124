"""The personal-data table of the events (issue 11): the docs say what the code says, every
personal field of every schema has a consumer, and the scans find what they must."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shared.bus import error_code
from shared.errors import ServiceError
from shared.events import EVENT_TYPES, AccountCreated, OtpVerified, new_event
from shared.events.personal_data import (
    NOT_PUBLISHED,
    PERSONAL_FIELDS,
    PERSONAL_NAMES,
    allowed,
    credential_findings,
    mask,
    undocumented_personal_fields,
)
from shared.events.schemas import Identity

DOCS = Path(__file__).resolve().parents[2] / "docs" / "messaging.md"
_ROW = re.compile(r"^\| `(\w+)` \| `([\w.]+)` \| (.+?) \| (.+) \|$")


def _documented() -> set[tuple[str, str, tuple[str, ...]]]:
    rows = set()
    for line in DOCS.read_text().splitlines():
        if match := _ROW.match(line):
            event, field, consumers, _why = match.groups()
            if event in EVENT_TYPES:
                rows.add((event, field, tuple(re.findall(r"`([\w-]+)`", consumers))))
    return rows


def test_the_docs_table_is_the_code_table() -> None:
    assert _documented() == {(f.event, f.field, f.consumers) for f in PERSONAL_FIELDS}


def test_every_personal_field_of_every_schema_has_a_consumer() -> None:
    missing = [(name, field) for name, model in EVENT_TYPES.items()
               for field in model.model_fields
               if field in PERSONAL_NAMES and (name, field) not in NOT_PUBLISHED
               and model.model_fields[field].annotation is not bool  # a flag, not a value
               and not allowed(name, field)
               and not any(f.event == name and f.field.startswith(field + ".")
                           for f in PERSONAL_FIELDS)]
    assert missing == []


def _account_created(**extra: object) -> dict:
    payload = AccountCreated.model_validate(dict(
        account_id="a", registration_id="r", subject_type="citizen", method="mobile", level=2,
        created_at="2026-01-01T00:00:00Z", phone="+84912345678",
        identity=Identity(id_number="001090123456", full_name="Nguyễn Văn An").model_dump(),
        **extra))
    return new_event(payload, correlation_id="r").payload


def test_an_event_from_before_issue_11_is_caught_carrying_a_hash() -> None:
    assert credential_findings("AccountCreated",
                               _account_created(password_hash="$argon2id$v=19$m=1$x$y")) == [
        "password_hash"]
    # By value too, whatever the field is called.
    assert credential_findings("AccountCreated", _account_created(blob="$argon2id$v=19$x")) == [
        "blob"]


def test_todays_account_created_holds_no_credential_and_only_documented_fields() -> None:
    payload = _account_created(credential_id="cred-1", must_change_password=True)
    assert credential_findings("AccountCreated", payload) == []
    assert undocumented_personal_fields("AccountCreated", payload) == []


def test_a_personal_field_on_an_event_whose_consumers_do_not_need_it_is_found() -> None:
    sent = {"flow_id": "f", "purpose": "login", "phone": "+84912345678", "challenge_id": "c"}
    assert undocumented_personal_fields("OtpSent", sent) == ["phone"]
    verified = OtpVerified(flow_id="f", purpose="login", phone="+84912345678", challenge_id="c")
    assert undocumented_personal_fields("OtpVerified", verified.model_dump()) == []


def test_an_error_code_named_code_is_no_credential_but_an_otp_is() -> None:
    assert credential_findings("RegistrationFailed", {"code": "flow_expired"}) == []
    assert credential_findings("RegistrationFailed", {"code": "123456"}) == ["code"]
    assert credential_findings("LoginFailed", {"otp_code": "123456"}) == ["otp_code"]


def test_mask_hides_personal_values_and_drops_credentials() -> None:
    masked = mask({"phone": "+84912345678", "identity": {"id_number": "001090123456",
                                                         "full_name": "Nguyễn Văn An"},
                   "password_hash": "$argon2id$x", "code": "otp_invalid", "otp": "123456",
                   "account_id": "acc-1"})
    text = repr(masked)
    for secret in ("912345", "001090123456", "Nguyễn", "$argon2", "123456"):
        assert secret not in text
    assert masked["account_id"] == "acc-1" and masked["code"] == "otp_invalid"


class _Refused(ServiceError):
    code = "credential_missing"


@pytest.mark.parametrize(("exc", "code"), [
    (_Refused(), "credential_missing"),
    # A driver's message can quote the duplicate key (an ID number): only the class name.
    (ValueError("E11000 duplicate key: CCCD:001090123456"), "ValueError"),
])
def test_a_dead_letter_says_an_error_code_never_the_message(exc: Exception, code: str) -> None:
    assert error_code(exc) == code


def test_a_post_office_code_is_no_credential_but_digits_there_would_be() -> None:
    def created(code: str) -> dict[str, Any]:
        return {"registered_by": {"agent_account_id": "a",
                                  "office": {"name": "Bưu điện Hà Nội", "code": code}}}

    assert credential_findings("AccountCreated", created("HN-001")) == []
    assert credential_findings("AccountCreated", created("123456")) == [
        "registered_by.office.code"]
