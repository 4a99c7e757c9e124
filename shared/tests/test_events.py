from shared.events import EVENT_TYPES, AccountCreated, Envelope, OtpVerified, new_event
from shared.events.schemas import Identity


def test_an_event_survives_the_wire_with_its_metadata() -> None:
    payload = OtpVerified(flow_id="f1", purpose="registration", phone="+84912345678", challenge_id="c1")
    event = new_event(payload, correlation_id="f1", causation_id="req-1")
    received = Envelope.model_validate_json(event.model_dump_json())
    assert received.type == "OtpVerified" and received.version == 1
    assert received.correlation_id == "f1" and received.causation_id == "req-1"
    assert received.parse(EVENT_TYPES[received.type]) == payload


def test_every_event_id_is_unique() -> None:
    payload = OtpVerified(flow_id="f1", purpose="login", phone="+84912345678", challenge_id="c")
    assert new_event(payload, correlation_id="f1").id != new_event(payload, correlation_id="f1").id


def test_account_created_carries_no_credential_only_a_reference_to_it() -> None:
    assert not [name for name in AccountCreated.model_fields
                if "password" in name or "hash" in name]
    event = AccountCreated(account_id="a", registration_id="r", subject_type="citizen",
                           method="mobile", level=2, created_at="2026-01-01T00:00:00Z",
                           identity=Identity(id_number="001090123456", full_name="Nguyễn Văn An"),
                           credential_id="cred-1")
    assert event.credential_id == "cred-1"
