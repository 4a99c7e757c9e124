"""The telco adapter against a real HTTP server started by the test (the contract of
docs/external/telco-registry.md), including the ways a registry fails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date

import pytest

from dvcid.servers import free_port
from services.registration.adapters.telco import HttpSubscriberRegistry, create_client
from services.registration.domain.errors import ExternalUnavailable
from services.registration.tests.telco_server import (
    ANSWERS_503,
    ANSWERS_INCOMPLETE,
    ANSWERS_NOT_JSON,
    ANSWERS_SLOWLY,
    TelcoServer,
    telco_server,
)
from shared.tests.spans import recorded_spans

pytestmark = pytest.mark.integration

API_KEY = "test-telco-key"


@pytest.fixture(scope="module")
def telco() -> Iterator[TelcoServer]:
    with telco_server(API_KEY) as server:
        server.add("+84912345678", "001090012345", "Nguyễn Văn An", "1990-05-17")
        yield server


@pytest.fixture
async def registry(telco: TelcoServer) -> AsyncIterator[HttpSubscriberRegistry]:
    client = create_client(telco.url, API_KEY, timeout=1.0)
    yield HttpSubscriberRegistry(client)
    await client.aclose()


async def test_a_known_subscriber_is_returned(registry: HttpSubscriberRegistry,
                                              telco: TelcoServer) -> None:
    subscriber = await registry.find("+84912345678")
    assert subscriber is not None
    assert subscriber.id_number == "001090012345" and subscriber.full_name == "Nguyễn Văn An"
    assert subscriber.birth_date == date(1990, 5, 17) and subscriber.status == "active"
    # The phone goes in the body: a URL ends up in access logs.
    assert telco.paths[-1] == "/telco/v1/subscribers/lookup"


async def test_an_unknown_subscriber_is_none(registry: HttpSubscriberRegistry) -> None:
    assert await registry.find("+84987654321") is None


@pytest.mark.parametrize("phone", [ANSWERS_503, ANSWERS_NOT_JSON, ANSWERS_INCOMPLETE,
                                   ANSWERS_SLOWLY])
async def test_a_registry_that_cannot_answer_is_external_unavailable(
        registry: HttpSubscriberRegistry, phone: str) -> None:
    with pytest.raises(ExternalUnavailable):
        await registry.find(phone)


async def test_a_wrong_key_is_external_unavailable_not_a_mismatch(telco: TelcoServer) -> None:
    client = create_client(telco.url, "wrong-key")
    try:
        with pytest.raises(ExternalUnavailable):
            await HttpSubscriberRegistry(client).find("+84912345678")
    finally:
        await client.aclose()


async def test_an_unreachable_registry_is_external_unavailable() -> None:
    client = create_client(f"http://127.0.0.1:{free_port()}/telco", API_KEY, timeout=1.0)
    try:
        with pytest.raises(ExternalUnavailable) as err:
            await HttpSubscriberRegistry(client).find("+84912345678")
        assert err.value.to_error()["code"] == "external_unavailable"
    finally:
        await client.aclose()


async def test_each_lookup_is_a_client_span_saying_only_who_was_asked_and_the_outcome(
        registry: HttpSubscriberRegistry) -> None:
    with recorded_spans("registration") as spans:
        await registry.find("+84912345678")
        await registry.find("+84987654321")
        with pytest.raises(ExternalUnavailable):
            await registry.find(ANSWERS_503)
    found, unknown, failed = spans.get_finished_spans()
    assert {span.name for span in (found, unknown, failed)} == {"telco.lookup"}
    assert dict(found.attributes or {}) == {"peer.service": "telco", "dvcid.outcome": "found"}
    assert dict(unknown.attributes or {})["dvcid.outcome"] == "not_found"
    assert failed.status.description == "external_unavailable"
