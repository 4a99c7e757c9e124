"""What route handlers receive from the request: the RPC client, the caller's session
credentials (with the CSRF check of cookie-authenticated unsafe calls), the flow token and
who the client is."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import TypeAdapter, ValidationError

from services.gateway.config import GatewaySettings
from services.gateway.problems import Problem
from services.gateway.session_mirror import Mirror
from shared.contracts import profile as PROFILE
from shared.contracts.fields import Identifier, Token
from shared.rpc import RpcClient

SESSION_COOKIE = "dvcid_session"
CSRF_COOKIE = "dvcid_csrf"
CSRF_HEADER = "X-CSRF-Token"
FLOW_TOKEN_HEADER = "X-Flow-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared as security schemes so OpenAPI shows how to authenticate; checked below.
_bearer = HTTPBearer(auto_error=False, description="session_token from POST /logins/{id}/otp")
_session_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                               description="HttpOnly session cookie set by POST /logins/{id}/otp")
_csrf_header = APIKeyHeader(name=CSRF_HEADER, auto_error=False,
                            description="Value of the dvcid_csrf cookie; required with the "
                                        "session cookie on POST/PUT/PATCH/DELETE")


async def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


async def get_rpc(request: Request) -> RpcClient:
    rpc: RpcClient = request.app.state.rpc
    return rpc


Settings = Annotated[GatewaySettings, Depends(get_settings)]
Rpc = Annotated[RpcClient, Depends(get_rpc)]


@dataclass(frozen=True)
class SessionCredentials:
    token: str
    from_cookie: bool


async def session_credentials(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_session_cookie)],
    csrf: Annotated[str | None, Depends(_csrf_header)],
) -> SessionCredentials:
    """The session token, from ``Authorization: Bearer`` or else the session cookie.

    A browser attaches the cookie to any cross-site form post; a call that changes something
    with the cookie alone must therefore prove it comes from our own page: the
    ``X-CSRF-Token`` header must equal the ``dvcid_csrf`` cookie, which only a script of the
    same site can read (double-submit). Bearer calls carry no ambient credential: no check.
    """
    if bearer is not None and bearer.credentials:
        return SessionCredentials(bearer.credentials, from_cookie=False)
    if cookie:
        if request.method not in SAFE_METHODS:
            expected = request.cookies.get(CSRF_COOKIE, "")
            if not (csrf and expected and secrets.compare_digest(csrf.encode(),
                                                                 expected.encode())):
                raise Problem("forbidden")
        return SessionCredentials(cookie, from_cookie=True)
    raise Problem("unauthenticated")


SessionToken = Annotated[SessionCredentials, Depends(session_credentials)]


@dataclass(frozen=True)
class AuthenticatedSession:
    token: str
    account_id: str
    session_id: str
    level: int
    expires_at: str | None


async def current_session(credentials: SessionToken, rpc: Rpc,
                          mirror: Mirror) -> AuthenticatedSession:
    """The caller's live session (for routes that need the account id): from the session
    mirror when it knows the token (services/gateway/session_mirror.py), else checked by
    profile."""
    mirrored = mirror.check(credentials.token)
    if mirrored is not None:
        return AuthenticatedSession(token=credentials.token, account_id=mirrored.account_id,
                                    session_id=mirrored.session_id, level=mirrored.level,
                                    expires_at=mirrored.expires_at.astimezone(UTC).isoformat())
    session = await rpc.ask(PROFILE.AUTHENTICATE,
                            PROFILE.SessionRef(session_token=credentials.token))
    return AuthenticatedSession(token=credentials.token, account_id=session.account_id,
                                session_id=session.session_id, level=session.level,
                                expires_at=session.expires_at)


CurrentSession = Annotated[AuthenticatedSession, Depends(current_session)]


async def flow_token(
    x_flow_token: Annotated[str | None, Header(alias=FLOW_TOKEN_HEADER,
                                               description="flow_token of the flow")] = None,
) -> str:
    """Without its token a flow does not exist for the caller: 404, as for a wrong token
    (or one that cannot be a token at all)."""
    if not x_flow_token or not _is_token(x_flow_token):
        raise Problem("not_found")
    return x_flow_token


FlowToken = Annotated[str, Depends(flow_token)]


def path_id(value: str) -> str:
    """An id from the path (a flow, a session, a method): the services mint them as
    ``Identifier``s, so any other string names nothing there: 404, as an unknown id."""
    if not _fits(_IDENTIFIER, value):
        raise Problem("not_found")
    return value


_TOKEN: TypeAdapter[str] = TypeAdapter(Token)
_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)


def _is_token(value: str) -> bool:
    return _fits(_TOKEN, value)


def _fits(field: TypeAdapter[str], value: str) -> bool:
    try:
        field.validate_python(value)
    except ValidationError:
        return False
    return True


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None

    def as_payload(self) -> dict[str, str]:
        return {k: v for k, v in (("ip", self.ip), ("user_agent", self.user_agent)) if v}


async def client_info(request: Request) -> ClientInfo:
    # request.client is the peer, or the X-Forwarded-For client when uvicorn trusts the proxy
    # (DVCID_FORWARDED_ALLOW_IPS); a client cannot choose its recorded IP.
    # Both cut to what profile records (shared.contracts.fields.ClientFields).
    ip = request.client.host[:64] if request.client else None
    user_agent = request.headers.get("user-agent")
    return ClientInfo(ip=ip, user_agent=user_agent[:512] if user_agent else None)


Client = Annotated[ClientInfo, Depends(client_info)]
