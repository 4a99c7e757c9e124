"""The pages' small pure pieces (issue 17): the date of birth's three boxes, the code typed on
an OTP screen, the masked phone as people write it."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request

from services.gateway.web.dates import read_date_boxes, with_date_errors
from services.gateway.web.otp_screen import new_code_sent, typed_code
from services.gateway.web.otp_timing import OtpTimingCache
from services.gateway.web.rendering import FormErrors, dn_organisation, vn_phone
from services.gateway.web.security import WebFlow
from shared.contracts import otp as OTP


def boxes(day: str, month: str, year: str) -> dict[str, str]:
    return {"birth_date_day": day, "birth_date_month": month, "birth_date_year": year}


def test_three_boxes_make_the_iso_date_people_type_it_in() -> None:
    assert read_date_boxes(boxes("17", "05", "1990"), "birth_date").iso == "1990-05-17"
    assert read_date_boxes(boxes(" 7", "5 ", "1990"), "birth_date").iso == "1990-05-07"


def test_each_box_says_its_own_mistake() -> None:
    read = read_date_boxes(boxes("17", "13", "90"), "birth_date")
    assert read.iso is None
    assert set(read.errors) == {"birth_date_month", "birth_date_year"}
    assert "1 đến 12" in read.errors["birth_date_month"] and "4 chữ số" in read.errors["birth_date_year"]
    assert set(read_date_boxes(boxes("", "05", "1990"), "birth_date").errors) == {"birth_date_day"}


def test_no_date_and_a_date_that_does_not_exist_are_about_the_date() -> None:
    assert set(read_date_boxes(boxes("", "", ""), "birth_date").errors) == {"birth_date"}
    missing = read_date_boxes(boxes("31", "02", "1990"), "birth_date")
    assert "31/02/1990 không có thật" in missing.errors["birth_date"]


def test_the_boxes_findings_replace_the_services_word_on_the_date_in_form_order() -> None:
    refusal = FormErrors(fields={"id_number": ["a"], "birth_date": ["Vui lòng nhập ngày sinh."],
                                 "phone": ["b"]})
    read = read_date_boxes(boxes("17", "13", "1990"), "birth_date")
    merged = with_date_errors(refusal, read, "birth_date", ("id_number", "birth_date", "phone"))
    assert list(merged.fields) == ["id_number", "birth_date_month", "phone"]


def _page_knowing(policy: OTP.OtpPolicy | None) -> Request:
    """A page of a gateway that has read ``policy`` from otp (None: otp not asked yet)."""
    app = FastAPI()
    app.state.otp_timing = OtpTimingCache()
    if policy is not None:
        async def read() -> OTP.OtpPolicy:
            return policy

        asyncio.run(app.state.otp_timing.load(read))
    return Request({"type": "http", "app": app, "headers": []})


SIX_DIGITS = OTP.OtpPolicy(code_digits=6, code_lifetime_seconds=300, resend_interval_seconds=60,
                           max_attempts=5)


def test_a_code_of_the_wrong_length_is_counted_without_asking_the_service() -> None:
    page = _page_knowing(SIX_DIGITS)
    assert typed_code(page, {"code": " 123 456 "}) == ("123456", None)
    _, short = typed_code(page, {"code": "12345"})
    assert short is not None and "bạn đã nhập 5 chữ số" in short.fields["code"][0]
    _, letters = typed_code(page, {"code": "12a456"})
    assert letters is not None and "chỉ gồm 6 chữ số" in letters.fields["code"][0]
    _, empty = typed_code(page, {})
    assert empty is not None and empty.fields["code"] == ["Vui lòng nhập mã OTP."]


def test_the_code_length_is_otps_and_left_to_otp_while_unknown() -> None:
    four = _page_knowing(SIX_DIGITS.model_copy(update={"code_digits": 4}))
    assert typed_code(four, {"code": "1234"}) == ("1234", None)
    unknown = _page_knowing(None)
    assert typed_code(unknown, {"code": "12345"}) == ("12345", None)
    _, letters = typed_code(unknown, {"code": "12a45"})
    assert letters is not None and "chỉ gồm các chữ số" in letters.fields["code"][0]


def test_a_new_codes_life_is_counted_from_otps_timing() -> None:
    flow = WebFlow(kind="login", id="f", token="t")
    sent = new_code_sent(_page_knowing(SIX_DIGITS), flow, "2026-12-01T10:01:00+00:00")
    assert sent.code_expires_at == "2026-12-01T10:05:00+00:00"
    assert new_code_sent(_page_knowing(None), flow,
                         "2026-12-01T10:01:00+00:00").code_expires_at is None


def test_a_masked_phone_reads_as_a_vietnamese_number() -> None:
    assert vn_phone("+8495****882") == "095****882"
    assert vn_phone("095****882") == "095****882"
    assert vn_phone(None) == ""


def test_a_certificate_issuer_is_named_by_its_organisation() -> None:
    assert dn_organisation("CN=Sandbox CA 1,O=Sandbox CA,C=VN") == "Sandbox CA"
    assert dn_organisation("CN=VNPT-CA") == "VNPT-CA"
    assert dn_organisation("") == ""


def test_a_masked_phone_inside_a_label_reads_as_a_vietnamese_number() -> None:
    assert vn_phone("SMS +8491****580") == "SMS 091****580"
