"""The telco subscriber registry and the dev routes that shape it."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from sandbox.config import DEFAULT_SEED

KEY = {"Authorization": "Bearer dev-insecure-telco-token"}


async def test_a_seeded_subscriber_is_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/telco/v1/subscribers/+84912345678", headers=KEY)
    assert response.status_code == 200
    assert response.json() == {"phone": "+84912345678", "id_number": "001090001234",
                               "full_name": "Nguyễn Văn An", "birth_date": "1990-05-12",
                               "status": "active"}


async def test_a_percent_encoded_plus_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.get("/telco/v1/subscribers/%2B84983456789", headers=KEY)
    assert response.status_code == 200 and response.json()["full_name"] == "Trần Thị Bình"


async def test_a_suspended_subscription_says_so(client: httpx.AsyncClient) -> None:
    record = {"phone": "0912000222", "id_number": "001090002222", "full_name": "Mai Văn Sơn",
              "birth_date": "1990-01-02", "status": "suspended"}
    assert (await client.post("/dev/telco-subscribers", json=record)).status_code == 201
    found = await client.get("/telco/v1/subscribers/+84912000222", headers=KEY)
    assert found.json()["status"] == "suspended"


async def test_an_unknown_or_unparseable_phone_is_not_found(client: httpx.AsyncClient) -> None:
    for phone in ("+84911111111", "not-a-phone", "+14155550123"):
        response = await client.get(f"/telco/v1/subscribers/{phone}", headers=KEY)
        assert response.status_code == 404
        assert response.json() == {"error": "not_found"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": "Basic dev-insecure-telco-token"}])
async def test_a_missing_or_wrong_key_is_refused(client: httpx.AsyncClient,
                                                 headers: dict[str, str]) -> None:
    response = await client.get("/telco/v1/subscribers/+84912345678", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}


@pytest.mark.parametrize("phone", ["0987654321", "84987654321", "+84987654321"])
async def test_a_subscriber_added_in_any_form_is_stored_as_e164(client: httpx.AsyncClient,
                                                               phone: str) -> None:
    record = {"phone": phone, "id_number": "001090009999", "full_name": "Ngô Văn Khánh",
              "birth_date": "1990-01-02"}
    response = await client.post("/dev/telco-subscribers", json=record)
    assert response.status_code == 201, response.text
    assert response.json()["phone"] == "+84987654321"
    found = await client.get("/telco/v1/subscribers/+84987654321", headers=KEY)
    assert found.json()["full_name"] == "Ngô Văn Khánh"
    dev = await client.get("/dev/telco-subscribers/0987654321")
    assert dev.status_code == 200 and dev.json()["id_number"] == "001090009999"


async def test_adding_a_subscriber_again_replaces_the_record(client: httpx.AsyncClient) -> None:
    record = {"phone": "0912345678", "id_number": "001190001111", "full_name": "Lý Thị Mai",
              "birth_date": "1990-02-03", "sex": "female"}
    assert (await client.post("/dev/telco-subscribers", json=record)).status_code == 201
    found = await client.get("/telco/v1/subscribers/+84912345678", headers=KEY)
    assert found.json()["id_number"] == "001190001111"


@pytest.mark.parametrize(("field", "value"), [
    ("phone", "+14155550123"), ("phone", "0241234567"), ("phone", 912345678),
    ("birth_date", "12/05/1990"), ("birth_date", 19900512), ("birth_date", "1990-02-30"),
    ("id_number", 1234), ("full_name", ""),
])
async def test_invalid_subscriber_fields_are_named(client: httpx.AsyncClient, field: str,
                                                   value: object) -> None:
    record = {"phone": "0912000111", "id_number": "001090001235", "full_name": "Bùi Văn Tú",
              "birth_date": "1990-05-12", field: value}
    response = await client.post("/dev/telco-subscribers", json=record)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [e["name"] for e in problem["errors"]] == [field]


async def test_an_unknown_dev_subscriber_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/dev/telco-subscribers/0911000000")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


PROVINCES = {"001": "Hà Nội", "079": "TP Hồ Chí Minh", "048": "Đà Nẵng", "031": "Hải Phòng",
             "092": "Cần Thơ", "038": "Thanh Hóa", "040": "Nghệ An"}


def test_the_seed_cccd_numbers_agree_with_birth_date_sex_and_province() -> None:
    seed = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))["telco_subscribers"]
    assert len(seed) >= 5
    for record in seed:
        cccd, born = record["id_number"], date.fromisoformat(record["birth_date"])
        assert len(cccd) == 12 and cccd.isdigit()
        assert PROVINCES[cccd[:3]] == record["province"]
        century = 0 if born.year < 2000 else 2
        expected = century + (0 if record["sex"] == "male" else 1)
        assert int(cccd[3]) == expected, record
        assert cccd[4:6] == f"{born.year % 100:02d}", record


async def test_the_lookup_takes_the_phone_in_the_body(client: httpx.AsyncClient) -> None:
    # The contract's form: no URL (access log) carries the phone.
    response = await client.post("/telco/v1/subscribers/lookup", headers=KEY,
                                 json={"phone": "+84912345678"})
    assert response.status_code == 200 and response.json()["id_number"] == "001090001234"
    bodies: list[object] = [{"phone": "+84911111111"}, {"phone": 912345678}, {}, []]
    for body in bodies:
        missing = await client.post("/telco/v1/subscribers/lookup", headers=KEY, json=body)
        assert missing.status_code == 404 and missing.json() == {"error": "not_found"}
    refused = await client.post("/telco/v1/subscribers/lookup", json={"phone": "+84912345678"})
    assert refused.status_code == 401
