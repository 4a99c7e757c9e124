"""A Twilio-compatible Messages endpoint, close enough that the official SDK cannot tell.

``POST /twilio/2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP Basic auth
(account SID, auth token) and the form fields ``To``, ``From`` (or ``MessagingServiceSid``),
``Body``. It answers 201 with Twilio's message resource and keeps the message in the inbox
that ``GET /dev/sms`` reads. Errors are Twilio's JSON ``{code, message, more_info, status}``.

Faults set per number through ``POST /dev/sms-faults`` answer as Twilio does at request time:
``invalid_number`` 400/21211, ``unreachable`` 400/21614 ("not a valid mobile number": Twilio's
30003 "unreachable handset" only ever arrives later in a status callback, never as an API
answer, so the synchronous 21614 is what a client really meets), ``rate_limit`` 429/20429,
``server_error`` 500/20500. A refused message is not stored in the inbox.
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.phones import to_e164
from sandbox.world import SentMessage, SmsFault, World

API_VERSION = "2010-04-01"
router = APIRouter(prefix=f"/twilio/{API_VERSION}", tags=["twilio"])

MAX_BODY = 1600
# GSM 03.38 basic character set: text made only of these fits 160 characters per segment.
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def twilio_error(status: int, code: int, message: str,
                 headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message,
         "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status_code=status, headers=headers,
    )


_FAULT_ANSWERS: dict[SmsFault, tuple[int, int, str]] = {
    SmsFault.INVALID_NUMBER: (400, 21211, "Invalid 'To' Phone Number: {to}"),
    SmsFault.UNREACHABLE: (400, 21614, "'To' number {to} is not a valid mobile number"),
    SmsFault.RATE_LIMIT: (429, 20429, "Too Many Requests"),
    SmsFault.SERVER_ERROR: (500, 20500, "Internal Server Error"),
}


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _authenticated(request: Request, account_sid: str) -> bool:
    settings = request.app.state.settings
    credentials = _basic_credentials(request)
    if credentials is None:
        return False
    user, token = credentials
    return (
        secrets.compare_digest(user.encode(), settings.twilio_account_sid.encode())
        and secrets.compare_digest(token.encode(), settings.twilio_auth_token.encode())
        and account_sid == settings.twilio_account_sid
    )


def num_segments(body: str) -> int:
    if all(c in _GSM7 or c in _GSM7_EXTENDED for c in body):
        septets = len(body) + sum(1 for c in body if c in _GSM7_EXTENDED)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def message_resource(message: SentMessage) -> dict[str, Any]:
    created = format_datetime(message.sent_at)
    uri = f"/{API_VERSION}/Accounts/{message.account_sid}/Messages/{message.sid}"
    return {
        "account_sid": message.account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": created,
        "date_sent": None,
        "date_updated": created,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": message.from_,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": str(num_segments(message.body)),
        "price": None,
        "price_unit": "USD",
        "sid": message.sid,
        "status": "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": message.to,
        "uri": f"{uri}.json",
    }


@router.post("/Accounts/{account_sid}/Messages.json")
async def create_message(account_sid: str, request: Request) -> JSONResponse:
    if not _authenticated(request, account_sid):
        return twilio_error(401, 20003, "Authenticate",
                            headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})
    form = await request.form()
    to_raw, from_, body = (str(form.get(name) or "") for name in ("To", "From", "Body"))
    from_ = from_ or str(form.get("MessagingServiceSid") or "")
    if not to_raw:
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if not from_:
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if not body:
        return twilio_error(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY:
        return twilio_error(400, 21617,
                            "The concatenated message body exceeds the 1600 character limit.")
    to = to_e164(to_raw)
    if to is None:
        return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to_raw}")
    world: World = request.app.state.world
    fault = world.sms_fault(to)
    if fault is not SmsFault.NONE:
        status, code, text = _FAULT_ANSWERS[fault]
        return twilio_error(status, code, text.format(to=to))
    message = world.send_sms(account_sid, to, from_, body)
    return JSONResponse(message_resource(message), status_code=201)
