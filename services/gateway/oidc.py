"""dvcid as an OpenID Provider, over HTTP: discovery, JWKS, the authorization endpoint (the
browser's session cookie), the token endpoint and userinfo (docs/oidc.md).

Every rule is the oidc service's (``shared/contracts/oidc.py``): this module passes the HTTP
request through and turns the answer into HTTP: a redirect, the login page, RFC 6749 JSON
errors (400, or 401 with ``WWW-Authenticate`` for a client or a bearer token refused), or an
error page when the client or its redirect URI is wrong (never redirected to).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from services.gateway.dependencies import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Rpc,
    SessionCredentials,
    Settings,
    current_session,
)
from services.gateway.session_mirror import Mirror
from services.gateway.web.guards import CheckedForm, PageProblem
from services.gateway.web.oidc_consent import (
    CONSENT_PATH,
    consent_answer,
    consent_page,
)
from services.gateway.web.rendering import CONTENT_SECURITY_POLICY, redirect, render
from services.gateway.web.sso_resume import (
    CONTINUE_PATH,
    SsoRequest,
    forget_sso,
    remember_sso,
    sso_request,
)
from shared.contracts import oidc as OIDC
from shared.contracts import profile as PROFILE
from shared.contracts.base import Empty
from shared.contracts.base import Rpc as ContractRpc
from shared.rpc import RemoteError, RpcClient

router = APIRouter(tags=["openid connect"])
ClientRequestT = TypeVar("ClientRequestT", bound=OIDC.ClientAuthentication)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
LOGIN_PAGE = "/dang-nhap"
TOKEN_FIELDS = tuple(name for name in OIDC.TokenRequest.model_fields if name != "authorization")

# The OpenAPI description of what these routes read by hand (the protocol's parameters) and
# answer (OAuth JSON, redirects, the error page), so the contract fuzzing covers them too.
_STRING = {"type": "string", "maxLength": 2048}
_OAUTH_ERROR = {"application/json": {"schema": {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}}}}}
_JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}
AUTHORIZE_DOC: dict[str, Any] = {"parameters": [
    {"name": name, "in": "query", "required": False, "schema": _STRING}
    for name in OIDC.AuthorizationRequest.model_fields]}
AUTHORIZE_RESPONSES: dict[int | str, dict[str, Any]] = {
    302: {"description": "To the client's redirect URI (code or error, state, iss), or to the "
                         "login page"},
    400: {"description": "Unknown client or redirect URI: an error page, never a redirect",
          "content": {"text/html": {}}}}
TOKEN_DOC: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": dict.fromkeys(TOKEN_FIELDS, _STRING)}}}}}
TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Tokens", "content": _JSON_OBJECT},
    400: {"description": "RFC 6749 5.2 error", "content": _OAUTH_ERROR},
    401: {"description": "Client authentication failed", "content": _OAUTH_ERROR},
    503: {"description": "Try again", "content": _OAUTH_ERROR}}
QUERY_DOC: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": dict.fromkeys(
            (n for n in OIDC.TokenQuery.model_fields if n != "authorization"), _STRING)}}}}}
USERINFO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Claims", "content": _JSON_OBJECT},
    401: {"description": "No or an invalid bearer token (RFC 6750)", "content": _OAUTH_ERROR}}


@router.get("/.well-known/openid-configuration", summary="OpenID Provider metadata",
            responses={200: {"content": _JSON_OBJECT}})
async def discovery(rpc: Rpc) -> JSONResponse:
    answer = await rpc.ask(OIDC.METADATA, Empty())
    return JSONResponse(answer.metadata, headers={"Cache-Control": "public, max-age=300"})


@router.get("/oidc/jwks", summary="The ID token signing keys (JWK Set)",
            response_class=JSONResponse,
            responses={200: {"content": {"application/jwk-set+json": {"schema": {"type": "object"}}}}})
async def jwks(rpc: Rpc) -> JSONResponse:
    answer = await rpc.ask(OIDC.JWKS, Empty())
    return JSONResponse({"keys": answer.keys}, headers={"Cache-Control": "public, max-age=300"},
                        media_type="application/jwk-set+json")


@router.get("/oidc/authorize", summary="Authorization endpoint (code flow, PKCE S256)",
            response_class=RedirectResponse, status_code=302, responses=AUTHORIZE_RESPONSES,
            openapi_extra=AUTHORIZE_DOC)
async def authorize(request: Request, rpc: Rpc, mirror: Mirror) -> Response:
    return await _authorization(request, rpc, mirror, request.query_params,
                                f"{request.url.path}?{request.url.query}")


async def _authorization(request: Request, rpc: RpcClient, mirror: Mirror, query: QueryParams,
                         target: str,
                         consent: Literal["granted", "denied"] | None = None) -> Response:
    """The authorization request ``target`` (``/oidc/authorize?...``, its ``query``) as this
    browser asks it: the login page, the consent page, or the redirect to the client; and
    again with the person's ``consent`` (the consent page's form, web/oidc_consent.py)."""
    repeated = [name for name in OIDC.AuthorizationRequest.model_fields
                if len(query.getlist(name)) > 1]
    if repeated:  # RFC 6749 3.1: a parameter at most once
        raise _refused_page(f"Tham số lặp lại: {', '.join(repeated)}.")
    try:
        asked = OIDC.AuthorizationRequest.model_validate(
            {name: query[name] for name in OIDC.AuthorizationRequest.model_fields if name in query})
    except ValidationError as exc:
        raise _refused_page("Tham số quá dài.") from exc
    session = await _browser_session(request, rpc, mirror)
    kept = sso_request(request)
    resumed = kept is not None and kept.target == target  # back from the login it asked for
    try:
        outcome = await rpc.ask(OIDC.AUTHORIZE, OIDC.Authorize(
            request=asked, session=session,
            login_requested_at=kept.requested_at if kept is not None and resumed else None,
            consent=consent))
    except RemoteError as exc:
        raise _refused_page(str(exc.error.get("detail") or "")) from exc
    if outcome.action == "login":
        # Level 3 asked (acr_values): the login page opens on the SIM signature tab.
        page = (f"{LOGIN_PAGE}?tab=sim&tb=sso-3" if (outcome.level or 0) >= 3
                else f"{LOGIN_PAGE}?tb=sso")
        response: Response = RedirectResponse(page, status_code=302)
        remember_sso(request, response,
                     SsoRequest(target, datetime.now(UTC).isoformat(timespec="milliseconds")))
        return response
    if outcome.action == "consent" and session is not None:
        # The service checked it against the client (a pushed request's is in the outcome).
        redirect_uri = outcome.redirect_uri or asked.redirect_uri
        assert redirect_uri is not None
        return consent_page(request, outcome, target=target, redirect_uri=redirect_uri)
    assert outcome.redirect_to is not None
    response = RedirectResponse(outcome.redirect_to,
                                status_code=303 if consent else 302, headers=NO_STORE)
    if resumed:
        forget_sso(request, response)
    return response


@router.post(CONSENT_PATH, include_in_schema=False)
async def consent_answered(request: Request, form: CheckedForm, rpc: Rpc,
                           mirror: Mirror) -> Response:
    """The consent page's answer ("Đồng ý" / "Từ chối"): the form is CSRF-checked and bound
    to the authorization request it showed and to this browser's session; the request is
    then answered again with the person's choice."""
    target, answer = consent_answer(request, form)
    return await _authorization(request, rpc, mirror, QueryParams(urlsplit(target).query),
                                target, consent=answer)


@router.get(CONTINUE_PATH, include_in_schema=False)
async def resume_after_login(request: Request) -> Response:
    """After a login a portal asked for: a page that sends the browser on to the kept
    authorization request (a meta refresh, and a link), a new navigation rather than the end of
    the login form's redirect chain, which the form's CSP (form-action 'self') would stop at the
    portal."""
    kept = sso_request(request)
    if kept is None:
        return redirect("/tai-khoan")
    return render(request, "oidc_continue.html", target=kept.target)


async def _browser_session(request: Request, rpc: RpcClient,
                           mirror: Mirror) -> OIDC.BrowserSession | None:
    """The browser's live session (its cookie), with the level, the login method and the
    time of the login (for ``acr``, ``amr``, ``auth_time``); None when it has none."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        session = await current_session(SessionCredentials(token, from_cookie=True), rpc, mirror)
        sessions = await rpc.ask(PROFILE.ME_SESSIONS, PROFILE.SessionRef(session_token=token))
    except RemoteError as exc:
        if exc.code == "unauthenticated":
            return None
        raise
    current = next((s for s in sessions.items if s.current), None)
    if current is None:
        return None
    return OIDC.BrowserSession(account_id=session.account_id, session_id=session.session_id,
                               level=session.level, method=current.method,
                               authenticated_at=current.created_at)


def _refused_page(detail: str) -> PageProblem:
    return PageProblem(400, "Yêu cầu đăng nhập từ ứng dụng không hợp lệ",
                       "Ứng dụng đã gửi một yêu cầu đăng nhập không hợp lệ nên không thể "
                       f"tiếp tục. {detail} Vui lòng quay lại ứng dụng và thử lại.")


@router.post("/oidc/token", summary="Token endpoint (authorization_code)",
             responses=TOKEN_RESPONSES, openapi_extra=TOKEN_DOC)
async def token(request: Request, rpc: Rpc) -> JSONResponse:
    return await _client_call(request, rpc, OIDC.TOKEN)


@router.post("/oidc/introspect", summary="Token introspection (RFC 7662), the client's own tokens",
             responses=TOKEN_RESPONSES, openapi_extra=QUERY_DOC)
async def introspect(request: Request, rpc: Rpc) -> JSONResponse:
    return await _client_call(request, rpc, OIDC.INTROSPECT)


@router.post("/oidc/revoke", summary="Token revocation (RFC 7009)",
             responses=TOKEN_RESPONSES, openapi_extra=QUERY_DOC)
async def revoke(request: Request, rpc: Rpc) -> JSONResponse:
    return await _client_call(request, rpc, OIDC.REVOKE)


PAR_DOC: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": dict.fromkeys(
            (n for n in OIDC.PushedAuthorization.model_fields if n != "authorization"),
            _STRING)}}}}}
PAR_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "The request_uri standing for the request (RFC 9126 2.2)",
          "content": _JSON_OBJECT},
    400: {"description": "RFC 6749 5.2 error", "content": _OAUTH_ERROR},
    401: {"description": "Client authentication failed", "content": _OAUTH_ERROR},
    503: {"description": "Try again", "content": _OAUTH_ERROR}}


@router.post("/oidc/par", summary="Pushed authorization request (RFC 9126)", status_code=201,
             responses=PAR_RESPONSES, openapi_extra=PAR_DOC)
async def pushed_authorization(request: Request, rpc: Rpc) -> JSONResponse:
    answer = await _client_call(request, rpc, OIDC.PAR)
    if answer.status_code == 200:
        answer.status_code = 201
    return answer


async def _client_call(request: Request, rpc: RpcClient,
                       endpoint: ContractRpc[ClientRequestT, Any]) -> JSONResponse:
    """A client's form call (token, introspection, revocation): the form's fields of the
    contract and the ``Authorization`` header, as sent; the answer as JSON, never cached."""
    names = [name for name in endpoint.request.model_fields if name != "authorization"]
    form = await request.form()
    repeated = [name for name in names if len(form.getlist(name)) > 1]
    if repeated:
        return _oauth_error("invalid_request", f"Tham số lặp lại: {', '.join(repeated)}.")
    fields: dict[str, Any] = {name: form[name] for name in names if name in form}
    if authorization := request.headers.get("authorization"):
        fields["authorization"] = authorization
    try:
        asked = endpoint.request.model_validate(fields)
    except ValidationError:
        return _oauth_error("invalid_request", "Tham số không hợp lệ.")
    try:
        answer = await rpc.ask(endpoint, asked)
    except RemoteError as exc:
        return _oauth_error(exc.code, str(exc.error.get("detail") or ""),
                            basic=bool(authorization))
    return JSONResponse(answer.wire(), headers=NO_STORE)


def _oauth_error(code: str, detail: str, *, basic: bool = False) -> JSONResponse:
    """RFC 6749 5.2: 400, but 401 + ``WWW-Authenticate`` for a client that authenticated
    with HTTP Basic and was refused."""
    body = {"error": code, "error_description": OIDC.oauth_text(detail)}
    if code == "invalid_client":
        headers = NO_STORE | ({"WWW-Authenticate": 'Basic realm="dvcid"'} if basic else {})
        return JSONResponse(body, status_code=401, headers=headers)
    if code == "service_unavailable":
        return JSONResponse({"error": "temporarily_unavailable"}, status_code=503,
                            headers=NO_STORE | {"Retry-After": "1"})
    return JSONResponse(body, status_code=400, headers=NO_STORE)


LOGOUT_FIELDS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")
LOGOUT_DOC: dict[str, Any] = {"parameters": [
    {"name": name, "in": "query", "required": False, "schema": _STRING} for name in LOGOUT_FIELDS]}
LOGOUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Asks the person to confirm", "content": {"text/html": {}}},
    303: {"description": "Logged out: to the client's registered URI, or dvcid's home page"},
    400: {"description": "An invalid hint, client or URI: an error page",
          "content": {"text/html": {}}}}


# GET and POST are one endpoint (OpenID Connect RP-Initiated Logout allows both): one
# operation id each, or the OpenAPI document would name two operations alike.
@router.get("/oidc/logout", response_class=Response, operation_id="end_session_get",
            summary="RP-initiated logout (end_session_endpoint)",
            responses=LOGOUT_RESPONSES, openapi_extra=LOGOUT_DOC)
@router.post("/oidc/logout", response_class=Response, operation_id="end_session_post",
             summary="RP-initiated logout (end_session_endpoint)",
             responses=LOGOUT_RESPONSES, openapi_extra=LOGOUT_DOC)
async def end_session(request: Request, rpc: Rpc, mirror: Mirror, settings: Settings) -> Response:
    source = await request.form() if request.method == "POST" else request.query_params
    params = {name: str(source[name]) for name in LOGOUT_FIELDS if name in source}
    outcome = await _end_session(request, rpc, mirror, params)
    if outcome.confirm:
        page = render(request, "oidc_logout.html", client_name=outcome.client_name, params=params)
        if outcome.redirect_to:
            # The confirmation form ends at the portal's registered URI: its origin may be
            # the end of this form's redirect (CSP form-action), nothing else.
            parts = urlsplit(outcome.redirect_to)
            page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
                "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}")
        return page
    return await _logged_out(request, rpc, settings, outcome)


@router.post("/oidc/logout/xac-nhan", include_in_schema=False)
async def end_session_confirmed(request: Request, form: CheckedForm, rpc: Rpc, mirror: Mirror,
                                settings: Settings) -> Response:
    params = {name: str(form[name]) for name in LOGOUT_FIELDS if name in form}
    outcome = await _end_session(request, rpc, mirror, params)  # checked again, as sent
    return await _logged_out(request, rpc, settings, outcome)


async def _end_session(request: Request, rpc: RpcClient, mirror: Mirror,
                       params: dict[str, str]) -> OIDC.LogoutOutcome:
    try:
        asked = OIDC.EndSession.model_validate(params)
    except ValidationError as exc:
        raise _logout_refused("Tham số quá dài.") from exc
    session = await _browser_session(request, rpc, mirror)
    try:
        return await rpc.ask(OIDC.END_SESSION, asked.model_copy(update={"session": session}))
    except RemoteError as exc:
        raise _logout_refused(str(exc.error.get("detail") or "")) from exc


async def _logged_out(request: Request, rpc: RpcClient, settings: Settings,
                      outcome: OIDC.LogoutOutcome) -> Response:
    """Ends the browser's session (as Đăng xuất does) and goes where the client asked."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            await rpc.ask(PROFILE.LOGOUT, PROFILE.SessionRef(session_token=token))
        except RemoteError as exc:
            if exc.code != "unauthenticated":
                raise
    response = RedirectResponse(outcome.redirect_to or "/?tb=da-dang-xuat", status_code=303)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=settings.secure_cookies,
                               httponly=name == SESSION_COOKIE, samesite="lax")
    return response


def _logout_refused(detail: str) -> PageProblem:
    return PageProblem(400, "Yêu cầu đăng xuất không hợp lệ",
                       f"Ứng dụng đã gửi một yêu cầu đăng xuất không hợp lệ. {detail}")


def _bearer(request: Request) -> str | None:
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


BearerToken = Annotated[str | None, Depends(_bearer)]


@router.get("/oidc/userinfo", summary="UserInfo endpoint", operation_id="userinfo_get",
            responses=USERINFO_RESPONSES)
@router.post("/oidc/userinfo", summary="UserInfo endpoint", operation_id="userinfo_post",
             responses=USERINFO_RESPONSES)
async def userinfo(access_token: BearerToken, rpc: Rpc) -> JSONResponse:
    if not access_token:
        return JSONResponse({"error": "invalid_request"}, status_code=401,
                            headers=NO_STORE | {"WWW-Authenticate": 'Bearer realm="dvcid"'})
    try:
        answer = await rpc.ask(OIDC.USERINFO, OIDC.UserinfoRequest(access_token=access_token))
    except ValidationError:
        answer = None
    except RemoteError as exc:
        if exc.code != "invalid_token":
            raise
        answer = None
    if answer is None:
        return JSONResponse({"error": "invalid_token"}, status_code=401, headers=NO_STORE | {
            "WWW-Authenticate": 'Bearer realm="dvcid", error="invalid_token"'})
    return JSONResponse(answer.claims, headers=NO_STORE)
