"""The simulated BHXH registry: the contract of docs/external/bhxh-registry.md, the dev route
that adds records, and the registration service's real adapter against it over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date

import httpx
import pytest

from dvcid.servers import free_port
from sandbox.app import create_app
from sandbox.config import SandboxSettings
from sandbox.tests.live import served
from sandbox.world import World
from services.registration.adapters.bhxh import HttpInsuranceRegistry, create_client
from services.registration.domain.errors import ExternalUnavailable

KEY = SandboxSettings().bhxh_api_key
AUTH = {"Authorization": f"Bearer {KEY}"}
RECORD = {"bhxh_code": "0112345678", "id_number": "001090012345", "full_name": "Nguyễn Văn An",
          "birth_date": "1990-05-17", "sex": "male"}


async def test_seeded_records_are_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/bhxh/v1/insured/0190123456", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {"bhxh_code": "0190123456", "id_number": "001090001234",
                               "full_name": "Nguyễn Văn An", "birth_date": "1990-05-12",
                               "sex": "male", "phone": "+84912345678"}
    without_phone = (await client.get("/bhxh/v1/insured/7995000123", headers=AUTH)).json()
    assert "phone" not in without_phone and without_phone["sex"] == "female"


@pytest.mark.parametrize("code", ["0199999999", "019012345", "abc", "01901234567"])
async def test_unknown_or_malformed_codes_are_404(client: httpx.AsyncClient, code: str) -> None:
    response = await client.get(f"/bhxh/v1/insured/{code}", headers=AUTH)
    assert response.status_code == 404 and response.json() == {"error": "not_found"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": f"Basic {KEY}"}])
async def test_the_key_is_required(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/bhxh/v1/insured/0190123456", headers=headers)
    assert response.status_code == 401 and "Bearer" in response.headers["www-authenticate"]


async def test_dev_route_adds_and_replaces_records(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/dev/bhxh-records", json={**RECORD, "phone": "0912 000 111"})
    assert response.status_code == 201
    assert response.json() == {**RECORD, "phone": "+84912000111"}
    assert world.insured_person("0112345678") is not None
    await client.post("/dev/bhxh-records", json={**RECORD, "full_name": "Nguyễn Văn Anh"})
    served_record = (await client.get("/bhxh/v1/insured/0112345678", headers=AUTH)).json()
    assert served_record["full_name"] == "Nguyễn Văn Anh" and "phone" not in served_record
    assert (await client.get("/dev/bhxh-records/0112345678")).json()["full_name"] == "Nguyễn Văn Anh"
    assert (await client.get("/dev/bhxh-records/0100000000")).status_code == 404


@pytest.mark.parametrize("change", [{"bhxh_code": "123"}, {"sex": "x"}, {"birth_date": "17/05/1990"},
                                    {"phone": "+14155550123"}, {"extra": 1}, {"bhxh_code": None}])
async def test_dev_route_refuses_bad_records(client: httpx.AsyncClient,
                                            change: dict[str, object]) -> None:
    response = await client.post("/dev/bhxh-records", json={**RECORD, **change})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


# --- the registration service's adapter, over real HTTP ---------------------------------------

@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with served(create_app(SandboxSettings())) as url:
        yield url


@pytest.fixture
async def registry(sandbox_url: str) -> AsyncIterator[HttpInsuranceRegistry]:
    client = create_client(f"{sandbox_url}/bhxh", KEY, timeout=2.0)
    yield HttpInsuranceRegistry(client)
    await client.aclose()


async def test_the_adapter_reads_a_record(registry: HttpInsuranceRegistry) -> None:
    person = await registry.find("0190123456")
    assert person is not None
    assert (person.id_number, person.full_name, person.birth_date, person.sex, person.phone) == (
        "001090001234", "Nguyễn Văn An", date(1990, 5, 12), "male", "+84912345678")


async def test_the_adapter_reads_an_unknown_code_as_none(registry: HttpInsuranceRegistry) -> None:
    assert await registry.find("0199999999") is None


async def test_a_wrong_key_is_unavailable_not_a_no(sandbox_url: str) -> None:
    client = create_client(f"{sandbox_url}/bhxh", "wrong-key")
    try:
        with pytest.raises(ExternalUnavailable):
            await HttpInsuranceRegistry(client).find("0190123456")
    finally:
        await client.aclose()


def _answering(status: int, body: object) -> httpx.AsyncClient:
    def handler(_request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://bhxh/")


@pytest.mark.parametrize(("status", "body"), [
    (503, {"error": "maintenance"}), (429, {}), (200, b"<html>"), (200, {"full_name": "A"}),
    (200, {**RECORD, "sex": "nam"}), (200, {**RECORD, "birth_date": "hôm qua"}),
    (200, {**RECORD, "bhxh_code": "0999999999"}), (200, {**RECORD, "id_number": 1234}),
    (200, [RECORD]),
])
async def test_answers_outside_the_contract_are_unavailable(status: int, body: object) -> None:
    async with _answering(status, body) as client:
        with pytest.raises(ExternalUnavailable):
            await HttpInsuranceRegistry(client).find("0112345678")


async def test_an_unreachable_registry_is_unavailable() -> None:
    client = create_client(f"http://127.0.0.1:{free_port()}/bhxh", KEY, timeout=1.0)
    try:
        with pytest.raises(ExternalUnavailable):
            await HttpInsuranceRegistry(client).find("0190123456")
    finally:
        await client.aclose()


async def test_the_lookup_takes_the_code_in_the_body(client: httpx.AsyncClient) -> None:
    # The contract's form: no URL (access log) carries the code.
    response = await client.post("/bhxh/v1/insured/lookup", headers=AUTH,
                                 json={"bhxh_code": "0190123456"})
    assert response.status_code == 200 and response.json()["id_number"] == "001090001234"
    for body in ({"bhxh_code": "0199999999"}, {"bhxh_code": "abc"}, {"bhxh_code": 190123456}, {}):
        missing = await client.post("/bhxh/v1/insured/lookup", headers=AUTH, json=body)
        assert missing.status_code == 404 and missing.json() == {"error": "not_found"}
    refused = await client.post("/bhxh/v1/insured/lookup", json={"bhxh_code": "0190123456"})
    assert refused.status_code == 401
