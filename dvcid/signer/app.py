"""The agent's local HTTP API, for the portal page:

* ``GET /v1/status``: version, backends (and whether their driver answers), tokens present;
* ``GET /v1/certificates``: the signing certificates on the tokens and in the files;
* ``POST /v1/sign`` ``{certificate_id, challenge (base64), pin, algorithm?}``:
  ``{signature (base64), certificate (PEM), chain (PEM list), algorithm}``. The challenge must
  be a dvcid challenge (``dvcid-auth-v1\\0`` + origin + ``\\0`` + 32-byte nonce) naming the
  origin of the page that asks: anything else is ``challenge_format`` (400), so no page can
  use the agent to sign a document. ``pin`` may be empty for a token with its own PIN pad
  (PKCS#11 protected authentication path): the token asks for it.

Guards, because any web page the person opens can send requests to 127.0.0.1:
* Origin: only the configured portal origins get CORS headers (preflight included, with the
  Private Network Access answer Chrome asks of public pages calling localhost); a request that
  carries another Origin is refused outright, reads as well as signatures (the certificate list
  names the person). Requests without Origin come from local programs, not pages.
* Host: only 127.0.0.1/localhost, so a DNS-rebinding page (same-origin to the agent under its
  own name) is refused.
* ``POST`` needs ``Content-Type: application/json``, which a page cannot send cross-origin
  without a preflight the agent refuses.
The PIN is read from the body, handed to the backend and dropped: never logged, never echoed
(validation errors name fields, not values).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from importlib import metadata
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from dvcid.signer.agent import SigningAgent
from dvcid.signer.domain import (
    ALGORITHMS,
    ChallengeFormat,
    InvalidRequest,
    OriginForbidden,
    SignerError,
    challenge_origin,
    pem_of,
)

log = logging.getLogger("dvcid.signer")
MAX_BODY_BYTES = 16 * 1024
MAX_CHALLENGE_BYTES = 4096
MAX_PIN_LENGTH = 64
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
ALLOWED_METHODS = "GET, POST, OPTIONS"


def create_app(agent: SigningAgent, allowed_origins: list[str]) -> Starlette:
    allowed = {o.rstrip("/") for o in allowed_origins}

    async def status(request: Request) -> Response:
        backends, tokens = await run_in_threadpool(agent.status)
        return JSONResponse({"version": _version(), "backends": backends,
                             "tokens": [t.as_dict() for t in tokens]})

    async def certificates(request: Request) -> Response:
        entries = await run_in_threadpool(agent.certificates)
        return JSONResponse({"certificates": [e.as_dict() for e in entries]})

    async def sign(request: Request) -> Response:
        certificate_id, challenge, pin, algorithm = await _sign_request(request)
        _check_challenge(challenge, request.headers.get("origin"), allowed)
        signed = await run_in_threadpool(agent.sign, certificate_id, challenge, pin, algorithm)
        log.info("signed a challenge with certificate %s (%s)", certificate_id, signed.algorithm)
        return JSONResponse({
            "signature": base64.b64encode(signed.signature).decode(),
            "certificate": pem_of(signed.certificate),
            "chain": [pem_of(c) for c in signed.chain],
            "algorithm": signed.algorithm,
        })

    return Starlette(
        routes=[Route("/v1/status", status, methods=["GET"]),
                Route("/v1/certificates", certificates, methods=["GET"]),
                Route("/v1/sign", sign, methods=["POST"])],
        middleware=[Middleware(LocalGuard, allowed_origins=allowed_origins)],
        exception_handlers={SignerError: _problem_handler},
    )


async def _sign_request(request: Request) -> tuple[str, bytes, str, str | None]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise InvalidRequest("Yêu cầu ký phải ở dạng JSON (Content-Type: application/json).")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise InvalidRequest("Yêu cầu ký quá lớn.")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise InvalidRequest("Yêu cầu ký không phải JSON hợp lệ.") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("Yêu cầu ký phải là một đối tượng JSON.")
    certificate_id = data.get("certificate_id")
    if not isinstance(certificate_id, str) or not certificate_id.strip():
        raise InvalidRequest("Vui lòng chọn chứng thư số (certificate_id).")
    pin = data.get("pin", "")
    if not isinstance(pin, str) or len(pin) > MAX_PIN_LENGTH:
        raise InvalidRequest("Mã PIN không hợp lệ.")
    algorithm = data.get("algorithm")
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise InvalidRequest(f"Thuật toán ký phải là một trong: {', '.join(ALGORITHMS)}.")
    return certificate_id.strip(), _challenge(data.get("challenge")), pin, algorithm


def _check_challenge(challenge: bytes, origin: str | None, allowed: set[str]) -> None:
    """Only a dvcid challenge naming the page that asks (or, from a local program without
    Origin, one of the allowed portals): never a document, a bare nonce, another site's."""
    named = challenge_origin(challenge)
    if named not in allowed or (origin is not None and named != origin.rstrip("/")):
        log.warning("refused to sign: not a challenge of the asking portal")
        raise ChallengeFormat()


def _challenge(value: Any) -> bytes:
    """The challenge exactly as the portal gave it (base64, standard or URL-safe alphabet): the
    signature is over these decoded bytes."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("Thiếu chuỗi thách thức (challenge) mã hóa base64.")
    text = value.strip().replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("Chuỗi thách thức (challenge) phải được mã hóa base64.") from exc
    if not raw or len(raw) > MAX_CHALLENGE_BYTES:
        raise InvalidRequest("Chuỗi thách thức (challenge) có độ dài không hợp lệ.")
    return raw


async def _problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignerError)
    return problem(exc)


def problem(error: SignerError) -> JSONResponse:
    """RFC 9457, as the portal's own API answers (type, title, status, detail, code)."""
    return JSONResponse(
        {"type": f"urn:dvcid:problem:{error.code}", "title": error.code.replace("_", " "),
         "status": error.status, "detail": error.detail, "code": error.code},
        status_code=error.status, media_type="application/problem+json")


class LocalGuard:
    """Host and Origin checks, CORS for the allowed origins (see the module docstring)."""

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed = {o.rstrip("/") for o in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        origin = request.headers.get("origin")
        if _hostname(request.headers.get("host", "")) not in LOCAL_HOSTS:
            await problem(OriginForbidden("Chương trình ký số chỉ nhận yêu cầu gửi tới "
                                          "127.0.0.1."))(scope, receive, send)
            return
        if origin is not None and origin.rstrip("/") not in self.allowed:
            log.warning("refused a request from origin %s", origin[:200])
            await problem(OriginForbidden())(scope, receive, send)
            return
        if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            await self._preflight(request)(scope, receive, send)
            return
        await self.app(scope, receive, self._with_cors(send, origin))

    def _preflight(self, request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is None:
            return Response(status_code=400)
        headers = {**_cors_headers(origin), "Access-Control-Allow-Methods": ALLOWED_METHODS,
                   "Access-Control-Allow-Headers": "Content-Type",
                   "Access-Control-Max-Age": "600"}
        if request.headers.get("access-control-request-private-network") == "true":
            headers["Access-Control-Allow-Private-Network"] = "true"
        return Response(status_code=204, headers=headers)

    @staticmethod
    def _with_cors(send: Send, origin: str | None) -> Send:
        if origin is None:
            return send

        async def send_with_cors(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode())
                            for k, v in _cors_headers(origin).items()]
                message = {**message, "headers": headers}
            await send(message)

        return send_with_cors


def _cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def _version() -> str:
    try:
        return metadata.version("dvcid")
    except metadata.PackageNotFoundError:
        return "0"
