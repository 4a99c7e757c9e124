"""The BHXH (social insurance, Bảo hiểm xã hội) registry, as the services call it, and the dev
route that adds records to it.

Contract (docs/external/bhxh-registry.md): ``POST {base}/bhxh/v1/insured/lookup``
``{"bhxh_code": "<10 digits>"}`` with ``Authorization: Bearer <key>`` → 200 ``{bhxh_code,
id_number, full_name, birth_date, sex, phone?}``, 404 ``{"error": "not_found"}`` (also for
anything that is not 10 digits: no one is insured under it), 401 ``{"error": "unauthorized"}``
for a missing or wrong key. The code is in the body so that no URL (access logs) carries it;
the older ``GET {base}/bhxh/v1/insured/{bhxh_code}`` answers the same.

``POST /dev/bhxh-records {bhxh_code, id_number, full_name, birth_date, sex, phone?}`` adds or
replaces a record (201, the record as the registry answers it).
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from sandbox.problems import not_found
from sandbox.routes.dev import IsoDate, VietnameseMobile
from sandbox.world import InsuredPerson, World

router = APIRouter(prefix="/bhxh/v1", tags=["bhxh registry"])
dev_router = APIRouter(prefix="/dev", tags=["dev"])

_BHXH_CODE = re.compile(r"^\d{10}$")
BhxhCode = Annotated[StrictStr, Field(pattern=r"^\d{10}$")]


def _authorized(request: Request) -> bool:
    expected: str = request.app.state.settings.bhxh_api_key
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(key.strip().encode(),
                                                                 expected.encode())


def _world(request: Request) -> World:
    world: World = request.app.state.world
    return world


@router.post("/insured/lookup")
async def lookup_insured(request: Request) -> JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        body = None
    code = body.get("bhxh_code") if isinstance(body, dict) else None
    return _answer(code if isinstance(code, str) else "", request)


@router.get("/insured/{bhxh_code}")
async def get_insured(bhxh_code: str, request: Request) -> JSONResponse:
    return _answer(bhxh_code, request)


def _answer(bhxh_code: str, request: Request) -> JSONResponse:
    if not _authorized(request):
        return JSONResponse({"error": "unauthorized"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="bhxh"'})
    person = _world(request).insured_person(bhxh_code) if _BHXH_CODE.match(bhxh_code) else None
    if person is None:
        return JSONResponse({"error": "not_found"}, status_code=404)
    return JSONResponse(person.to_registry())


class NewBhxhRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bhxh_code: BhxhCode
    id_number: StrictStr = Field(min_length=1, max_length=20)
    full_name: StrictStr = Field(min_length=1, max_length=200)
    birth_date: IsoDate
    sex: Literal["male", "female"]
    phone: VietnameseMobile | None = None


@dev_router.post("/bhxh-records", status_code=201)
async def add_bhxh_record(body: NewBhxhRecord, request: Request) -> dict[str, Any]:
    person = InsuredPerson(bhxh_code=body.bhxh_code, id_number=body.id_number,
                           full_name=body.full_name, birth_date=body.birth_date, sex=body.sex,
                           phone=body.phone)
    _world(request).add_insured(person)
    return person.to_registry()


@dev_router.get("/bhxh-records/{bhxh_code}", response_model=None)
async def get_bhxh_record(bhxh_code: str, request: Request) -> dict[str, Any] | JSONResponse:
    person = _world(request).insured_person(bhxh_code)
    if person is None:
        return not_found("Không có hồ sơ BHXH nào với mã số này.")
    return person.to_registry()
