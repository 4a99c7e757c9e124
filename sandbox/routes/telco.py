"""The carriers' subscriber registry (tra cứu thuê bao chính chủ), as the services call it.

Contract (docs/external/telco-registry.md): ``POST {base}/telco/v1/subscribers/lookup``
``{"phone": "<E.164>"}`` with ``Authorization: Bearer <key>`` → 200 ``{phone, id_number,
full_name, birth_date, status: "active"}``, 404 ``{"error": "not_found"}`` (also for a string
that is no Vietnamese mobile number: nobody subscribes to it), 401 ``{"error":
"unauthorized"}`` for a missing or wrong key. The phone is in the body so that no URL (access
logs) carries it; the older ``GET {base}/telco/v1/subscribers/{phone_e164}`` answers the same
for clients not moved yet.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.phones import vietnamese_mobile_e164
from sandbox.world import World

router = APIRouter(prefix="/telco/v1", tags=["telco registry"])


def _authorized(request: Request) -> bool:
    expected: str = request.app.state.settings.telco_api_key
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(key.strip().encode(),
                                                                 expected.encode())


@router.post("/subscribers/lookup")
async def lookup_subscriber(request: Request) -> JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        body = None
    phone = body.get("phone") if isinstance(body, dict) else None
    return _answer(phone if isinstance(phone, str) else "", request)


@router.get("/subscribers/{phone}")
async def get_subscriber(phone: str, request: Request) -> JSONResponse:
    return _answer(phone, request)


def _answer(phone: str, request: Request) -> JSONResponse:
    if not _authorized(request):
        return JSONResponse({"error": "unauthorized"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="telco"'})
    world: World = request.app.state.world
    e164 = vietnamese_mobile_e164(phone)
    subscriber = world.subscriber(e164) if e164 else None
    if subscriber is None:
        return JSONResponse({"error": "not_found"}, status_code=404)
    return JSONResponse(subscriber.to_registry())
