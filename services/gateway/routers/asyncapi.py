"""The bus's contract next to the HTTP one: the AsyncAPI 3.0 document of every event and RPC
subject between the services (generated from the code by ``dvcid/asyncapi.py``, the same text
as docs/asyncapi.yaml). Linked from the OpenAPI description; not itself an API operation."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from dvcid import asyncapi

router = APIRouter(include_in_schema=False)


# The first request builds the document (about a second of schema generation, off the event
# loop); later ones answer the cached text.
@router.get("/asyncapi.yaml")
async def asyncapi_yaml() -> Response:
    return Response(await asyncio.to_thread(asyncapi.as_yaml),
                    media_type="application/yaml; charset=utf-8")


@router.get("/asyncapi.json")
async def asyncapi_json() -> Response:
    return Response(await asyncio.to_thread(asyncapi.as_json), media_type="application/json")
