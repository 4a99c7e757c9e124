"""The gateway serves the bus's AsyncAPI document next to its OpenAPI one (issue 14)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import yaml

from dvcid import asyncapi
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # No lifespan: these routes need neither NATS nor a service.
    app = create_app(GatewaySettings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def test_the_yaml_document_is_the_generated_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/asyncapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.text == asyncapi.as_yaml()
    document = yaml.safe_load(response.text)
    assert document["asyncapi"] == "3.0.0"
    assert document["channels"]["otp.issue"]["address"] == "dvcid.otp.issue"


async def test_the_json_document_says_the_same(client: httpx.AsyncClient) -> None:
    response = await client.get("/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == yaml.safe_load((await client.get("/asyncapi.yaml")).text)


async def test_the_api_docs_link_to_it_and_do_not_list_it(client: httpx.AsyncClient) -> None:
    openapi = (await client.get("/openapi.json")).json()
    assert "[/asyncapi.yaml](/asyncapi.yaml)" in openapi["info"]["description"]
    assert not any(path.startswith("/asyncapi") for path in openapi["paths"])
