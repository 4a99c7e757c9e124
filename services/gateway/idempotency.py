"""``Idempotency-Key`` on the API's POST and PATCH steps (IETF draft "The Idempotency-Key HTTP
Header Field"): a client whose answer was lost sends the same request again with the same key.

- same key, same body → the first answer, replayed (``Idempotent-Replayed: true``), the step
  not run again: no second SMS, account or session;
- same key, another body → 422 ``idempotency_key_reused``;
- same key while the first request is still running → 409 ``idempotency_key_in_progress``.

A key belongs to the caller who sent it and to one operation (method and path): the caller is
the flow (``X-Flow-Token``), else the session (bearer or cookie), else, for the calls that
create a flow, the client's address. Records live in a JetStream key-value bucket with a TTL
(the gateway holds no database), so every gateway instance sees them. What is stored holds
nothing in clear: the record's name and the body's fingerprint are keyed hashes, and the
answer (a flow token, a session token, its cookie) is encrypted (AES-GCM) with a key derived
from the gateway's secret and the caller's own credential, so the bucket alone opens nothing.

Only answers that settle the step are kept: a 5xx or 429 (nothing done, or "try later") and
``unauthenticated``/``forbidden`` (the session or CSRF header was wrong, not the step) drop
the record, so the retry runs the step again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from starlette.datastructures import Headers

from services.gateway.config import GatewaySettings
from services.gateway.problems import Problem
from services.gateway.routers import API_PREFIX
from shared.bus import key_value_bucket
from shared.events.subjects import IDEMPOTENCY_BUCKET
from shared.logging import get_logger

log = get_logger(__name__)

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
METHODS = frozenset({"POST", "PATCH"})
# A client's random key (a UUID is 36): long enough that nobody else behind the same
# address guesses it, short enough for a header.
_KEY = re.compile(r"^[\x21-\x7e]{16,255}$")
# Answers that say nothing about the step: the retry must run it. 202 (a registration
# committed, its account not yet usable: creating_account) is not final either: the retried
# step answers the flow's state, completed once the account is usable (read-your-writes).
_NOT_KEPT = frozenset({202, 408, 425, 429})
# Refusals of the caller's credential or CSRF header, not of the step (a wrong OTP, also a
# 401, is the step's answer and is kept: a retry must not burn a second attempt).
_NOT_KEPT_CODES = frozenset({"unauthenticated", "forbidden"})
# Headers of an answer worth replaying (the cookies of a login among them).
_KEPT_HEADERS = frozenset({"content-type", "location", "set-cookie", "cache-control",
                           "x-next-before"})
_SESSION_COOKIE = "dvcid_session"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Caller:
    """Who sent the key: the kind of credential and the credential itself (never stored)."""

    kind: str
    credential: str


def caller_of(scope: Scope, headers: Headers) -> Caller:
    if token := headers.get("x-flow-token"):
        return Caller("flow", token)
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer ") and authorization[7:].strip():
        return Caller("session", authorization[7:].strip())
    cookies = SimpleCookie(headers.get("cookie", ""))
    if _SESSION_COOKIE in cookies and cookies[_SESSION_COOKIE].value:
        return Caller("session", cookies[_SESSION_COOKIE].value)
    client = scope.get("client")
    return Caller("address", str(client[0]) if client else "")


class Secrets:
    """The keyed hashes and the cipher of one request's record."""

    def __init__(self, secret: str, caller: Caller, operation: str, key: str) -> None:
        # Derived from the gateway's secret for this one purpose (the cookies' signatures use
        # the secret itself), then per caller.
        root = hmac.new(secret.encode(), b"dvcid idempotency v1", hashlib.sha256).digest()
        self._caller_key = hmac.new(root, f"caller\0{caller.kind}\0{caller.credential}".encode(),
                                    hashlib.sha256).digest()
        self.name = hmac.new(root, f"name\0{caller.kind}\0{caller.credential}\0{operation}\0"
                                   f"{key}".encode(), hashlib.sha256).hexdigest()

    def fingerprint(self, query: bytes, body: bytes) -> str:
        # Keyed: the body of a password step must not be stored as a plain hash of it.
        return hmac.new(self._caller_key, b"body\0" + query + b"\0" + body,
                        hashlib.sha256).hexdigest()

    def seal(self, answer: dict[str, Any]) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._caller_key).encrypt(nonce, json.dumps(answer).encode(),
                                                  self.name.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        raw = base64.b64decode(sealed)
        answer: dict[str, Any] = json.loads(
            AESGCM(self._caller_key).decrypt(raw[:12], raw[12:], self.name.encode()))
        return answer


@dataclass
class Record:
    fingerprint: str
    started_at: float
    answer: str | None = None  # sealed; None while the first request runs
    revision: int = 0

    def encode(self) -> bytes:
        return json.dumps({"fingerprint": self.fingerprint, "started_at": self.started_at,
                           "answer": self.answer}).encode()

    @staticmethod
    def decode(value: bytes, revision: int) -> Record:
        data = json.loads(value)
        return Record(data["fingerprint"], float(data["started_at"]), data.get("answer"),
                      revision)


class Records:
    """The bucket, opened (or created) on first use by any gateway instance."""

    def __init__(self, nc: NATS, settings: GatewaySettings) -> None:
        self._nc = nc
        self._settings = settings
        self._bucket: KeyValue | None = None
        self._lock = asyncio.Lock()

    async def bucket(self) -> KeyValue:
        async with self._lock:
            if self._bucket is None:
                self._bucket = await key_value_bucket(self._nc.jetstream(), KeyValueConfig(
                    bucket=IDEMPOTENCY_BUCKET, history=1, direct=False,
                    ttl=self._settings.idempotency_ttl_hours * 3600,
                    replicas=self._settings.stream_replicas,
                    description="Idempotency-Key records of the gateway"))
            return self._bucket

    async def claim(self, name: str, record: Record) -> Record | None:
        """Stores ``record`` if the name is free; else the record already there."""
        bucket = await self.bucket()
        for _ in range(3):
            try:
                record.revision = await bucket.create(name, record.encode())
                return None
            except KeyWrongLastSequenceError:
                try:
                    entry = await bucket.get(name)
                except KeyNotFoundError:
                    continue  # deleted in between: claim again
                return Record.decode(entry.value or b"{}", entry.revision or 0)
        raise Problem("idempotency_key_in_progress")

    async def take_over(self, name: str, stale: Record, record: Record) -> bool:
        try:
            record.revision = await (await self.bucket()).update(name, record.encode(),
                                                                 last=stale.revision)
            return True
        except KeyWrongLastSequenceError:
            return False

    async def settle(self, name: str, record: Record) -> None:
        await (await self.bucket()).update(name, record.encode(), last=record.revision)

    async def release(self, name: str, record: Record) -> None:
        await (await self.bucket()).delete(name, last=record.revision)


class IdempotencyMiddleware:
    """Pure ASGI: reads the body once, hands it on unchanged, and copies the answer."""

    def __init__(self, app: App, settings: GatewaySettings) -> None:
        self.app = app
        self.settings = settings
        # A record still "in progress" after this long belongs to a request that died with
        # its gateway: a retry takes it over.
        self.lease_seconds = 3 * settings.rpc_timeout + 5

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        key = key.strip().strip('"')
        path: str = scope["path"]
        if not _KEY.match(key):
            await Problem("idempotency_key_invalid").response(path)(scope, receive, send)
            return
        body = await _read_body(receive)
        secrets = Secrets(self.settings.web_secret, caller_of(scope, headers),
                          f"{scope['method']} {path}", key)
        try:
            await self._handle(scope, send, body, secrets)
        except Problem as problem:
            await problem.response(path)(scope, _replay_body(body), send)
        except (TimeoutError, NatsError) as exc:
            log.warning("idempotency records unavailable", error=repr(exc))
            await Problem("service_unavailable").response(path)(scope, _replay_body(body), send)

    def _applies(self, scope: Scope) -> bool:
        path = scope.get("path", "")
        return (scope["type"] == "http" and scope.get("method") in METHODS
                and path.startswith(API_PREFIX + "/")
                and not path.startswith(API_PREFIX + "/dev/"))

    async def _handle(self, scope: Scope, send: Send, body: bytes, secrets: Secrets) -> None:
        records: Records = scope["app"].state.idempotency
        fingerprint = secrets.fingerprint(scope.get("query_string", b""), body)
        mine = Record(fingerprint, time.time())
        found = await records.claim(secrets.name, mine)
        if found is not None:
            if not hmac.compare_digest(found.fingerprint, fingerprint):
                raise Problem("idempotency_key_reused")
            if found.answer is not None:
                try:
                    stored = secrets.open(found.answer)
                except (InvalidTag, ValueError) as exc:
                    # Sealed under another gateway secret: it cannot be replayed, and running
                    # the step again could do it twice.
                    raise Problem("idempotency_key_reused") from exc
                await _replay(stored, send)
                return
            if time.time() - found.started_at < self.lease_seconds or not await records.take_over(
                    secrets.name, found, mine):
                raise Problem("idempotency_key_in_progress")
        await self._run(scope, send, body, secrets, records, mine)

    async def _run(self, scope: Scope, send: Send, body: bytes, secrets: Secrets,
                   records: Records, mine: Record) -> None:
        answer: dict[str, Any] = {"status": 500, "headers": [], "body": ""}
        chunks: list[bytes] = []

        async def copy(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = [
                    [k.decode("latin-1"), v.decode("latin-1")] for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() in _KEPT_HEADERS]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, _replay_body(body), copy)
        except BaseException:
            await _quietly(records.release(secrets.name, mine))
            raise
        status, content = int(answer["status"]), b"".join(chunks)
        if status >= 500 or status in _NOT_KEPT or _problem_code(content) in _NOT_KEPT_CODES:
            await _quietly(records.release(secrets.name, mine))
            return
        answer["body"] = base64.b64encode(content).decode()
        mine.answer = secrets.seal(answer)
        # The step is done whatever happens to this write: a lost record only means a retry
        # meets the flow's own idempotent answer instead of this one.
        await _quietly(records.settle(secrets.name, mine))


def document(schema: dict[str, Any], problem_schema: dict[str, Any],
             media_type: str) -> None:
    """Declares the optional header on every operation it applies to, and the problems it
    may answer there (400 invalid key, 409 in progress, 422 reused), in the OpenAPI schema."""
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith(API_PREFIX + "/") or path.startswith(API_PREFIX + "/dev/"):
            continue
        for method, operation in operations.items():
            if method.upper() not in METHODS:
                continue
            operation.setdefault("parameters", []).append({
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "A new random key (a UUID) per request; the same key again "
                               "with the same body replays the first answer "
                               "(docs/messaging.md).",
                "schema": {"type": "string", "minLength": 16, "maxLength": 255}})
            responses = operation.setdefault("responses", {})
            for status in ("400", "409", "422"):
                responses.setdefault(status, {"description": "Problem", "content": {
                    media_type: {"schema": problem_schema}}})


def _problem_code(content: bytes) -> str | None:
    try:
        body = json.loads(content)
    except ValueError:
        return None
    return str(body.get("code")) if isinstance(body, dict) else None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay_body(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # After the body, an ASGI app waiting for more only hears that the client left
        # when it does; never here (the answer is being written).
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    return receive


async def _replay(answer: dict[str, Any], send: Send) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer["headers"]]
    headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": int(answer["status"]),
                "headers": headers})
    await send({"type": "http.response.body", "body": base64.b64decode(answer["body"])})


async def _quietly(step: Awaitable[None]) -> None:
    try:
        await step
    except (TimeoutError, NatsError) as exc:
        log.warning("idempotency record not updated", error=repr(exc))

