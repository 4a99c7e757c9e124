"""The sandbox world served over real HTTP on a free port, in a thread, for tests whose client
needs a socket (aiohttp in the Twilio SDK, httpx with its own transport)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from dvcid.servers import free_port


@contextmanager
def served(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Yields the base URL (``http://127.0.0.1:<port>``) while the app is served (on ``port``
    when given: an app that must know its own URL beforehand)."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "sandbox did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
