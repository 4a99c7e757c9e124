"""The HTTP transport every outgoing client uses: a connection the server closed while it
sat in the pool is retried once when the request may be repeated, never otherwise."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from dvcid.servers import free_port
from shared.http import retrying_transport


class Flaky(httpx.AsyncBaseTransport):
    """Fails the first ``failures`` requests with ``error``, then answers 200."""

    def __init__(self, error: Exception, failures: int = 1) -> None:
        self.error, self.failures, self.requests = error, failures, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.requests <= self.failures:
            raise self.error
        return httpx.Response(200, json={"attempt": self.requests})


async def test_a_get_on_a_closed_keep_alive_connection_is_retried_once() -> None:
    inner = Flaky(httpx.ReadError(""))
    async with httpx.AsyncClient(transport=retrying_transport(inner)) as client:
        response = await client.get("http://sandbox.test/dev/sms")
    assert response.status_code == 200 and inner.requests == 2


async def test_a_post_is_not_repeated_when_it_may_have_reached_the_server() -> None:
    inner = Flaky(httpx.ReadError(""))
    async with httpx.AsyncClient(transport=retrying_transport(inner)) as client:
        with pytest.raises(httpx.ReadError):
            await client.post("http://sandbox.test/sim/push", json={})
    assert inner.requests == 1


async def test_a_post_with_an_idempotency_key_may_be_repeated() -> None:
    inner = Flaky(httpx.RemoteProtocolError("Server disconnected without sending a response."))
    async with httpx.AsyncClient(transport=retrying_transport(inner)) as client:
        response = await client.post("http://sandbox.test/x", json={},
                                     headers={"Idempotency-Key": "k1"})
    assert response.status_code == 200 and inner.requests == 2


async def test_a_connection_never_made_is_retried_for_any_method() -> None:
    inner = Flaky(httpx.ConnectError("refused"))
    async with httpx.AsyncClient(transport=retrying_transport(inner)) as client:
        response = await client.post("http://sandbox.test/x", json={})
    assert response.status_code == 200 and inner.requests == 2


async def test_only_one_retry() -> None:
    inner = Flaky(httpx.ReadError(""), failures=2)
    async with httpx.AsyncClient(transport=retrying_transport(inner)) as client:
        with pytest.raises(httpx.ReadError):
            await client.get("http://sandbox.test/x")
    assert inner.requests == 2


@pytest.fixture
def crashing_server() -> Iterator[str]:
    """A real uvicorn whose one route raises: uvicorn answers 500 and closes the connection
    the client still holds in its pool (what the sandbox did on a past ``not_after``)."""
    app = FastAPI()

    @app.post("/boom")
    async def boom() -> None:
        raise RuntimeError("unexpected")

    @app.get("/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(),
                                           log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(5)


async def test_the_call_after_a_server_crash_succeeds(crashing_server: str) -> None:
    async with httpx.AsyncClient(base_url=crashing_server,
                                 transport=retrying_transport()) as client:
        assert (await client.post("/boom")).status_code == 500
        assert (await client.get("/ok")).json() == {"ok": True}
