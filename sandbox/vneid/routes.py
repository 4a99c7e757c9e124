"""VNeID's HTTP endpoints (under ``/vneid``): discovery, JWKS, the authorization endpoint with
its login screen (CCCD and PIN), the token endpoint and userinfo; and the dev routes that add a
VNeID account (``/dev/vneid-citizens``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from authlib.oauth2.rfc6749 import OAuth2Error
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr
from starlette.datastructures import FormData

from sandbox.problems import not_found
from sandbox.routes.dev import IsoDate, VietnameseMobile
from sandbox.vneid.provider import StarletteRequest, VneidProvider
from sandbox.world import VneidCitizen, World

router = APIRouter(prefix="/vneid", tags=["vneid"])
dev_router = APIRouter(prefix="/dev", tags=["dev"])
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent)
WRONG_CREDENTIALS = "Số định danh cá nhân hoặc mã PIN không đúng."
_CCCD = re.compile(r"^\d{12}$")
_PIN = re.compile(r"^\d{6}$")


def _provider(request: Request) -> VneidProvider:
    provider: VneidProvider = request.app.state.vneid
    return provider


def _world(request: Request) -> World:
    world: World = request.app.state.world
    return world


async def _oauth_request(request: Request) -> StarletteRequest:
    form = await request.form() if request.method == "POST" else FormData()
    return StarletteRequest(request.method, str(request.url), request.headers,
                            request.query_params, form)


def _respond(answer: tuple[int, Any, list[tuple[str, str]]]) -> Response:
    status, body, headers = answer
    content = json.dumps(body) if isinstance(body, dict) else body
    return Response(content, status_code=status, headers=dict(headers))


@router.get("/.well-known/openid-configuration")
async def discovery(request: Request) -> dict[str, Any]:
    return _provider(request).metadata()


@router.get("/jwks.json")
async def jwks(request: Request) -> dict[str, Any]:
    return _provider(request).jwks()


def _login_page(request: Request, provider: VneidProvider, client_id: str, status: int = 200,
                error: str | None = None, cccd: str = "") -> HTMLResponse:
    client = provider.clients[client_id]
    citizens = sorted(_world(request).vneid_citizens.values(), key=lambda c: c.full_name)
    return TEMPLATES.TemplateResponse(request, "login.html", {
        "client_name": client.name, "action": f"{request.url.path}?{request.url.query}",
        "citizens": citizens, "error": error, "cccd": cccd}, status_code=status)


def _invalid_request_page(request: Request, error: OAuth2Error) -> Response:
    """An error the client cannot be told by redirection (unknown client, a redirect_uri not
    registered): said to the person, never sent to an unchecked address."""
    if error.redirect_uri:
        return _respond(_provider(request).server.handle_error_response(None, error))
    return TEMPLATES.TemplateResponse(request, "error.html", {
        "error": error.error, "description": error.description}, status_code=error.status_code)


@router.get("/authorize", response_class=HTMLResponse, response_model=None)
async def authorize_page(request: Request) -> Response:
    """The login screen of a valid authorization request."""
    provider = _provider(request)
    oauth_request = await _oauth_request(request)
    try:
        provider.validate_authorization(oauth_request)
    except OAuth2Error as error:
        return _invalid_request_page(request, error)
    return _login_page(request, provider, oauth_request.payload.client_id)


@router.post("/authorize", response_class=HTMLResponse, response_model=None)
async def authorize(request: Request) -> Response:
    """The login screen's answer: back to the client with a code (right CCCD and PIN) or
    ``access_denied`` (Hủy); the screen again with an error otherwise."""
    provider = _provider(request)
    oauth_request = await _oauth_request(request)
    try:
        grant = provider.validate_authorization(oauth_request)
    except OAuth2Error as error:
        return _invalid_request_page(request, error)
    form = oauth_request.form
    if form.get("decision") == "cancel":
        return _respond(provider.authorize(oauth_request, grant, None))
    cccd = str(form.get("cccd") or "").strip()
    pin = str(form.get("pin") or "")
    citizen = _world(request).vneid_citizen(cccd) if _CCCD.match(cccd) else None
    if citizen is None or not citizen.pin_matches(pin):
        return _login_page(request, provider, oauth_request.payload.client_id, status=401,
                           error=WRONG_CREDENTIALS, cccd=cccd if _CCCD.match(cccd) else "")
    return _respond(provider.authorize(oauth_request, grant, citizen))


@router.post("/token", response_model=None)
async def token(request: Request) -> Response:
    return _respond(_provider(request).token(await _oauth_request(request)))


@router.get("/userinfo", response_model=None, operation_id="vneid_userinfo_get")
@router.post("/userinfo", response_model=None, operation_id="vneid_userinfo_post")
async def userinfo(request: Request) -> Response:
    return _respond(_provider(request).userinfo(await _oauth_request(request)))


# -- dev routes ------------------------------------------------------------------------------

def _cccd(value: str) -> str:
    if not _CCCD.match(value):
        raise ValueError("a CCCD is 12 digits")
    return value


def _pin(value: str) -> str:
    if not _PIN.match(value):
        raise ValueError("a VNeID PIN is 6 digits")
    return value


class NewVneidCitizen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: Annotated[StrictStr, AfterValidator(_cccd)]
    full_name: StrictStr = Field(min_length=1, max_length=200)
    birth_date: IsoDate
    sex: Literal["male", "female"] | None = None
    phone: VietnameseMobile | None = None
    pin: Annotated[StrictStr, AfterValidator(_pin)]


def _public(citizen: VneidCitizen) -> dict[str, Any]:
    return {"id_number": citizen.id_number, "sub": citizen.subject, "full_name": citizen.full_name,
            "birth_date": citizen.birth_date.isoformat(), "sex": citizen.sex,
            "phone": citizen.phone, "level": citizen.level}


@dev_router.post("/vneid-citizens", status_code=201)
async def add_vneid_citizen(body: NewVneidCitizen, request: Request) -> dict[str, Any]:
    """Adds or replaces a citizen's VNeID account (level 2, with this PIN)."""
    citizen = VneidCitizen.with_pin(body.id_number, body.full_name, body.birth_date, body.sex,
                                    body.phone, body.pin)
    _world(request).add_vneid_citizen(citizen)
    return _public(citizen)


@dev_router.get("/vneid-citizens/{id_number}", response_model=None)
async def get_vneid_citizen(id_number: str, request: Request) -> dict[str, Any] | JSONResponse:
    citizen = _world(request).vneid_citizen(id_number)
    if citizen is None:
        return not_found("Không có tài khoản VNeID nào với số định danh này.")
    return _public(citizen)
