"""Routes for tests and demos to shape and read the world (reached through the gateway's
``/dev`` forwarding): add subscribers, read the SMS inbox and the mailbox, make the SMS gateway
fail."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictStr

from sandbox.mail import Mailbox
from sandbox.phones import to_e164, vietnamese_mobile_e164
from sandbox.problems import invalid, not_found
from sandbox.world import SmsFault, TelcoSubscriber, World

router = APIRouter(prefix="/dev", tags=["dev"])

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("birth_date must be an ISO date YYYY-MM-DD")
    return value


def _vn_mobile(value: str) -> str:
    e164 = vietnamese_mobile_e164(value)
    if e164 is None:
        raise ValueError("not a Vietnamese mobile number")
    return e164


def _any_phone(value: str) -> str:
    e164 = to_e164(value)
    if e164 is None:
        raise ValueError("not a valid phone number")
    return e164


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
VietnameseMobile = Annotated[StrictStr, AfterValidator(_vn_mobile)]
AnyPhone = Annotated[StrictStr, AfterValidator(_any_phone)]


class NewTelcoSubscriber(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: VietnameseMobile
    id_number: StrictStr = Field(min_length=1, max_length=20)
    full_name: StrictStr = Field(min_length=1, max_length=200)
    birth_date: IsoDate
    sex: Literal["male", "female"] | None = None
    # Lets tests meet a suspended or terminated subscription.
    status: Literal["active", "suspended", "terminated"] = "active"


class SmsFaultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: AnyPhone
    fault: SmsFault


def _world(request: Request) -> World:
    world: World = request.app.state.world
    return world


@router.post("/telco-subscribers", status_code=201)
async def add_telco_subscriber(body: NewTelcoSubscriber, request: Request) -> dict[str, Any]:
    subscriber = TelcoSubscriber(phone=body.phone, id_number=body.id_number,
                                 full_name=body.full_name, birth_date=body.birth_date,
                                 sex=body.sex, status=body.status)
    _world(request).add_subscriber(subscriber)
    return subscriber.to_registry()


@router.get("/telco-subscribers/{phone}", response_model=None)
async def get_telco_subscriber(phone: str, request: Request) -> dict[str, Any] | JSONResponse:
    e164 = vietnamese_mobile_e164(phone)
    subscriber = _world(request).subscriber(e164) if e164 else None
    if subscriber is None:
        return not_found("Không có thuê bao nào với số điện thoại này.")
    return subscriber.to_registry()


@router.get("/sms", response_model=None)
async def list_sms(request: Request,
                   phone: Annotated[str | None, Query()] = None) -> list[dict[str, Any]] | JSONResponse:
    """Messages sent to ``phone`` (any usual form), newest first; all messages without it."""
    e164 = None
    if phone is not None:
        e164 = to_e164(phone)
        if e164 is None:
            return invalid([{"name": "phone", "detail": "not a valid phone number"}])
    return [m.to_inbox() for m in _world(request).inbox(e164)]


@router.delete("/sms", status_code=204)
async def clear_sms(request: Request) -> Response:
    _world(request).messages.clear()
    return Response(status_code=204)


@router.get("/mail")
async def list_mail(request: Request,
                    to: Annotated[str | None, Query(max_length=254)] = None) -> list[dict[str, Any]]:
    """Mail the sandbox's SMTP server received for ``to`` (or all), newest first."""
    mailbox: Mailbox = request.app.state.mailbox
    return [m.to_inbox() for m in mailbox.inbox(to)]


@router.delete("/mail", status_code=204)
async def clear_mail(request: Request) -> Response:
    request.app.state.mailbox.messages.clear()
    return Response(status_code=204)


@router.post("/sms-faults")
async def set_sms_fault(body: SmsFaultRequest, request: Request) -> dict[str, str]:
    _world(request).set_sms_fault(body.phone, body.fault)
    return {"phone": body.phone, "fault": body.fault.value}


@router.delete("/sms-faults", status_code=204)
async def clear_sms_faults(request: Request) -> Response:
    _world(request).sms_faults.clear()
    return Response(status_code=204)
