"""Request/reply between the gateway and the services, on the NATS service API (nats.micro).

Every endpoint answers JSON: ``{"ok": true, "data": ...}`` or ``{"ok": false, "error":
{"code", "detail", ...}}``. Services raise their own domain errors; any exception with a
``to_error()`` method is a domain error and becomes the error object, anything else is logged
and answered as ``internal`` (and counted as an error by ``nats micro stats``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from nats import micro
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.micro.request import Request
from nats.micro.service import Service
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure, PyMongoError

from shared import metrics, tracing
from shared.contracts.base import AnswerT, ContractViolation, RequestT, Rpc
from shared.logging import get_logger
from shared.tracing import SpanKind

log = get_logger(__name__)

Endpoint = Callable[[dict[str, Any]], Awaitable[Any]]
# Outcomes that mark an RPC span as failed: the service could not do its work (a domain error
# is an answer, not a failure).
_FAILED = frozenset({"internal", "service_unavailable"})
# How long ``RpcServer.stop`` lets requests in flight finish before cancelling them.
STOP_GRACE_SECONDS = 10.0


class DomainError(Protocol):
    def to_error(self) -> dict[str, Any]: ...


class RemoteError(Exception):
    """A service answered with a domain error."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("code"))
        self.error = error
        self.code: str = error.get("code", "internal")


class ServiceUnavailable(Exception):
    """No instance of the service answered in time."""


class RpcServer:
    def __init__(self, nc: NATS, service: str, version: str, description: str,
                 max_in_flight: int = 256) -> None:
        self._nc = nc
        self._name = service
        self._version = version
        self._description = description
        self._service: Service | None = None
        self._endpoints: dict[str, Endpoint] = {}
        # nats-py runs a subscription's callback one message at a time: each request is
        # served in its own task so a slow one (argon2, a registry call) never queues the
        # rest; the semaphore bounds how many run at once. (So `nats micro stats` counts
        # requests and errors, while its processing times cover only the hand-off.)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight: set[asyncio.Task[None]] = set()

    def endpoint(self, name: str, handler: Endpoint) -> None:
        self._endpoints[name] = handler

    async def start(self) -> None:
        self._service = await micro.add_service(
            self._nc, name=self._name, version=self._version, description=self._description
        )
        group = self._service.add_group(name=f"dvcid.{self._name}", queue_group=self._name)
        for name, handler in self._endpoints.items():
            await group.add_endpoint(name=name, handler=self._wrap(name, handler))

    async def stop(self) -> None:
        if self._service:
            await self._service.stop()
        if self._in_flight:
            # Requests already taken finish their answer, within a bound: a handler stuck on
            # a dependency must not keep the process (or a test's teardown) from stopping.
            _, stuck = await asyncio.wait(self._in_flight, timeout=STOP_GRACE_SECONDS)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)

    def _wrap(self, name: str, handler: Endpoint) -> Callable[[Request], Awaitable[None]]:
        async def serve(request: Request) -> None:
            received = time.perf_counter()
            # A SERVER span per request, child of the caller's span (traceparent header).
            with tracing.span(f"{self._name}.{name}", SpanKind.SERVER,
                              _rpc_attributes(self._name, name),
                              parent=tracing.extract(request.headers)) as current:
                outcome = await answer(request)
                metrics.rpc_served(name, outcome, time.perf_counter() - received)
                tracing.set_attributes(current, {"dvcid.outcome": outcome})
                if outcome in _FAILED:
                    tracing.mark_error(current, outcome)

        async def answer(request: Request) -> str:
            """Answers ``request``; returns ``ok`` or the error code it answered."""
            started = time.perf_counter()
            try:
                payload = json.loads(request.data or b"{}")
                result = await handler(payload)
                body = {"ok": True, "data": result}
            except Exception as exc:
                to_error = getattr(exc, "to_error", None)
                if to_error is None and _transient(exc):
                    # The database or a called service is out of reach for a moment
                    # (restarting, failing over): a 503 the client retries, not an internal
                    # error (issue 12).
                    log.warning("endpoint met an unreachable dependency", endpoint=name,
                                error=type(exc).__name__)
                    body = {"ok": False, "error": {"code": "service_unavailable"}}
                    await request.respond(_dumps(body))
                    return "service_unavailable"
                if to_error is None:
                    log.exception("endpoint failed", endpoint=name)
                    await request.respond_error("500", "internal error",
                                                data=_dumps({"ok": False, "error": {"code": "internal"}}))
                    return "internal"
                body = {"ok": False, "error": to_error()}
            log.debug("endpoint served", endpoint=name,
                      ms=round((time.perf_counter() - started) * 1000, 1))
            await request.respond(_dumps(body))
            return "ok" if body["ok"] else str(body["error"].get("code", "internal"))

        async def dispatch(request: Request) -> None:
            await self._slots.acquire()
            task = asyncio.create_task(serve(request), name=f"rpc-{self._name}.{name}")
            self._in_flight.add(task)
            task.add_done_callback(self._finished)

        return dispatch

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slots.release()


def serving(rpc: Rpc[RequestT, AnswerT],
            handler: Callable[[RequestT], Awaitable[AnswerT]]) -> Endpoint:
    """The endpoint that serves ``rpc`` with a typed handler: the request is read into its
    model (a misfit is answered ``validation_error`` naming the fields) and the handler's answer
    model is sent as its JSON (``Contract.wire``)."""

    async def endpoint(payload: dict[str, Any]) -> Any:
        try:
            request = rpc.request.model_validate(payload)
        except ValidationError as exc:
            raise ContractViolation(rpc, [dict(error) for error in exc.errors(include_input=False)]) from None
        answer = await handler(request)
        return answer.wire()

    return endpoint


class RpcClient:
    def __init__(self, nc: NATS, timeout: float = 10.0) -> None:
        self._nc = nc
        self._timeout = timeout

    async def call(self, service: str, endpoint: str, payload: dict[str, Any] | None = None,
                   timeout: float | None = None) -> Any:
        subject = f"dvcid.{service}.{endpoint}"
        with tracing.span(f"{service}.{endpoint}", SpanKind.CLIENT,
                          _rpc_attributes(service, endpoint)) as current:
            try:
                msg = await self._nc.request(subject, _dumps(payload or {}),
                                             timeout=timeout or self._timeout,
                                             headers=tracing.inject() or None)
            except (NoRespondersError, NatsTimeout) as exc:
                tracing.set_attributes(current, {"dvcid.outcome": "service_unavailable"})
                tracing.mark_error(current, "service_unavailable")
                raise ServiceUnavailable(service) from exc
            body = json.loads(msg.data or b"{}")
            if body.get("ok"):
                tracing.set_attributes(current, {"dvcid.outcome": "ok"})
                return body.get("data")
            error = body.get("error") or {"code": "internal"}
            code = str(error.get("code", "internal"))
            tracing.set_attributes(current, {"dvcid.outcome": code})
            if code in _FAILED:
                tracing.mark_error(current, code)
        # Raised outside the span: a domain error is an answer (its code is the outcome), not
        # a failed call, as on the server's side.
        raise RemoteError(error)

    async def ask(self, rpc: Rpc[RequestT, AnswerT], request: RequestT,
                  timeout: float | None = None) -> AnswerT:
        """Call ``rpc`` with its request model; the answer comes back as its answer model
        (fields the owner did not send stay unset). Errors as ``call``."""
        data = await self.call(rpc.service, rpc.endpoint, request.wire(), timeout=timeout)
        return rpc.answer.model_validate(data if data is not None else {})


def _rpc_attributes(service: str, endpoint: str) -> dict[str, str]:
    return {"rpc.system": "nats", "rpc.service": service, "rpc.method": endpoint}


def _transient(exc: BaseException) -> bool:
    """A lost or unreachable database connection, a transaction the server says may be
    retried as a whole, or another service that did not answer (its instances restarting,
    NATS reconnecting): nothing the step decided, only that it could not finish now."""
    if isinstance(exc, ConnectionFailure | ServiceUnavailable):
        return True
    if isinstance(exc, PyMongoError) and exc.has_error_label("TransientTransactionError"):
        return True
    # A service's own signal raised from one of these (registration's TransactionConflict once
    # its retries are spent, under a database cut or a burst of writers) is just as transient:
    # the client retries the step, which re-reads the flow, rather than seeing an internal error.
    cause = exc.__cause__
    return cause is not None and cause is not exc and _transient(cause)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=str).encode()
