from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from sandbox.app import create_app
from sandbox.config import SandboxSettings
from sandbox.world import World
from shared.clock import FrozenClock


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 1, 8, 30, tzinfo=UTC))


@pytest.fixture
def app(clock: FrozenClock) -> FastAPI:
    return create_app(SandboxSettings(), clock=clock)


@pytest.fixture
def world(app: FastAPI) -> World:
    world: World = app.state.world
    return world


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client
