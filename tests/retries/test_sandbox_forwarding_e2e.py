"""The sandbox world through the gateway's ``/dev`` forwarding (issue 12): an expired
certificate is asked for with a past ``not_after`` alone (once a 500 that also broke the
gateway's next forwarded call), and a validity ending before it starts is a 422."""

from __future__ import annotations

import httpx
import pytest
from cryptography import x509

from tests.journeys import API

pytestmark = pytest.mark.e2e

CITIZEN = {"subject_type": "citizen", "id_number": "001090001234", "full_name": "Nguyễn Văn An"}


def test_a_past_not_after_alone_issues_an_expired_certificate(api: httpx.Client) -> None:
    response = api.post(f"{API}/dev/certificates", json=CITIZEN | {
        "not_after": "2025-01-01T00:00:00Z"})
    assert response.status_code == 201, response.text
    certificate = x509.load_pem_x509_certificate(response.json()["certificate_pem"].encode())
    assert certificate.not_valid_before_utc < certificate.not_valid_after_utc
    # The next forwarded calls, GET and POST, go through.
    assert api.get(f"{API}/dev/sms", params={"phone": "0912000111"}).status_code == 200
    assert api.post(f"{API}/dev/certificates", json=CITIZEN).status_code == 201


def test_a_validity_ending_before_it_starts_is_422(api: httpx.Client) -> None:
    response = api.post(f"{API}/dev/certificates", json=CITIZEN | {
        "not_before": "2026-02-01T00:00:00Z", "not_after": "2026-01-01T00:00:00Z"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert api.get(f"{API}/dev/sms", params={"phone": "0912000111"}).status_code == 200
