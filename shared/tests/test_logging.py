import json
import logging

import structlog

from shared.logging import MaskingFilter, configure_logging, mask_personal_data, mask_text


def test_id_numbers_phones_and_emails_are_masked_inside_text() -> None:
    text = mask_text("CCCD 001090123456, phone +84912345678 or 0912345678, mail an.nguyen@gmail.com")
    assert "001090123456" not in text and "00*****56" in text
    assert "+84912345678" not in text and "0912345678" not in text
    assert "an.nguyen@gmail.com" not in text and "a***@gmail.com" in text


def test_secret_keys_are_never_rendered_whatever_they_hold() -> None:
    event = mask_personal_data(None, "info", {
        "event": "login", "password": "Hoa-Sen#2026", "otp_code": "123456",
        "session_token": "abc", "payload": {"pin": "1234", "phone": "0912345678"}})
    assert event["password"] == event["otp_code"] == event["session_token"] == "***"
    assert event["payload"]["pin"] == "***"
    assert event["payload"]["phone"] != "0912345678"


def test_production_logs_are_json_with_the_data_masked(capsys: object) -> None:
    configure_logging("test", env="production")
    structlog.get_logger().info("registered", id_number="001090123456", code="654321")
    line = capsys.readouterr().err.strip().splitlines()[-1]  # type: ignore[attr-defined]
    record = json.loads(line)
    assert record["event"] == "registered" and record["service"] == "test"
    assert "001090123456" not in line and "654321" not in line
    structlog.reset_defaults()


def test_error_codes_stay_readable_but_one_time_codes_do_not() -> None:
    event = mask_personal_data(None, "info", {
        "event": "registration failed", "code": "subscriber_mismatch", "otp": "123456",
        "sms_code": "654321", "payload": {"code": "0042"}})
    assert event["code"] == "subscriber_mismatch"
    assert event["otp"] == event["sms_code"] == "***"
    assert event["payload"]["code"] == "***"


def test_library_records_are_masked_whatever_library_writes_them() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5000", "POST",
                                                          "/dev/sim/0912345678/approve", "1.1",
                                                          200), None)
    assert MaskingFilter().filter(record)
    line = record.getMessage()
    assert "0912345678" not in line and line.endswith('HTTP/1.1" 200')
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "HTTP Request: GET %s",
                               None, None)
    record.msg = "HTTP Request: GET /v1/subscribers/+84912345678"
    MaskingFilter().filter(record)
    assert "+84912345678" not in record.getMessage()


def test_libraries_that_log_urls_and_bodies_keep_only_warnings() -> None:
    configure_logging("test")
    for name in ("httpx", "httpcore", "twilio.http_client"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)
    assert any(isinstance(f, MaskingFilter) for f in logging.getLogger("uvicorn.access").filters)
    structlog.reset_defaults()
