"""End-to-end fixtures: the whole system as separate processes, started once per session."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from dvcid.devstack import DevStack, Ports
from dvcid.servers import free_port
from dvcid.traceview import TraceReceiver, TraceStore, exporter_env

# The port of the USB signing agent the e2e stack's pages call.
SIGNER_PORT = free_port()
# Scan the event and dead-letter streams (issue 11), the logs, and the spans (issue 14) the
# whole session wrote: they must run after every other test, in this order (the first two run
# journeys of their own, whose spans the last one scans too).
RUNS_LAST = ("test_events_and_dead_letters_hold_no_secrets.py", "test_personal_data_in_logs.py",
             "test_tracing_e2e.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    last = sorted((item for item in items if item.path.name in RUNS_LAST),
                  key=lambda item: RUNS_LAST.index(item.path.name))
    items[:] = [item for item in items if item.path.name not in RUNS_LAST] + last


@pytest.fixture(scope="session")
def trace_receiver() -> Iterator[TraceReceiver]:
    """The stack's processes export their spans here over OTLP/HTTP, as with
    `dvcid dev --trace` (dvcid/traceview.py)."""
    receiver = TraceReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def traces(stack: DevStack, trace_receiver: TraceReceiver) -> TraceStore:
    """Every span the session's stack exported so far (tests/test_tracing_e2e.py)."""
    return trace_receiver.store


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest, trace_receiver: TraceReceiver) -> Iterator[DevStack]:
    # Data in a temporary folder; the processes' logs are kept under test-output/ so a
    # failure can be read after the run (CI prints their tails when the suite fails).
    # DVCID_E2E_LOGS gives a run its own folder (two runs in one tree would mix their logs).
    logs = Path(os.environ.get("DVCID_E2E_LOGS", "test-output/e2e-logs"))
    shutil.rmtree(logs, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="dvcid-e2e-") as home:
        env = {
            "DVCID_ENV": "test",
            "DVCID_LOG_LEVEL": "INFO",
            # Redeliver after a crash in seconds, not the production half-minute.
            "DVCID_BUS_ACK_WAIT_SECONDS": "3",
            "DVCID_RPC_TIMEOUT": "5",
            # Every captcha shows this text, so login-guard tests can answer it (test only).
            "DVCID_CAPTCHA_TEST_TEXT": "K7M3Q",
            # Where the USB pages find the signing agent; the browser tests start
            # `dvcid signer` there (tests/web/test_signature_journeys_in_browser.py).
            "DVCID_SIGNER_URL": f"http://127.0.0.1:{SIGNER_PORT}",
            **exporter_env(trace_receiver.endpoint),
        }
        # DVCID_E2E_REPLICAS=N runs N instances of each bus service (dvcid dev --replicas);
        # the crash tests' failpoints assume one (tests/chaos runs its own stack with two).
        replicas = int(os.environ.get("DVCID_E2E_REPLICAS", "1"))
        stack = DevStack(Path(home), Ports.free(), env=env, persistent=False,
                         say=lambda line: None, replicas=replicas)
        stack.logs = logs.resolve()
        try:
            stack.start(timeout=90)
        except Exception:
            stack.stop()
            raise
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"dvcid e2e stack: gateway {stack.gateway_url}, logs {stack.logs}")
        yield stack
        stack.stop()


@pytest.fixture(scope="session")
def api(stack: DevStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def mongo(stack: DevStack) -> Iterator[MongoClient]:
    client: MongoClient = MongoClient(stack.mongo_url)
    yield client
    client.close()
