"""The SIM signature provider over HTTP (Mobile-ID style REST, docs/external/mobile-signature.md)
and its dev routes: add SIM subscribers, and approve or reject on the owner's behalf."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from sandbox.ca import SandboxCA
from sandbox.phones import vietnamese_mobile_e164
from sandbox.problems import invalid, not_found, problem
from sandbox.sim import SimProvider, verification_code

router = APIRouter(tags=["mobile signature"])
_PIN = re.compile(r"^\d{4,8}$")


class NewSimSubscriber(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: StrictStr
    subject_type: Literal["citizen", "enterprise"]
    full_name: StrictStr = Field(min_length=1, max_length=200)
    id_number: StrictStr | None = None
    tax_code: StrictStr | None = None
    pin: StrictStr
    key_type: Literal["rsa", "ec"] = "ec"

    @model_validator(mode="after")
    def _shape(self) -> NewSimSubscriber:
        if not _PIN.match(self.pin):
            raise ValueError("pin: 4 to 8 digits")
        if self.subject_type == "enterprise" and not self.tax_code:
            raise ValueError("enterprise SIM certificates need tax_code")
        if self.subject_type == "citizen" and not self.id_number:
            raise ValueError("citizen SIM certificates need id_number")
        return self


class Pin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pin: StrictStr


class SignatureRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    phoneNumber: StrictStr
    hash: StrictStr
    hashType: Literal["SHA256"] = "SHA256"
    displayText: StrictStr = ""
    relyingPartyName: StrictStr = ""


def _provider(request: Request) -> SimProvider:
    provider: SimProvider = request.app.state.sim
    return provider


def _authorized(request: Request, authorization: str | None) -> bool:
    expected = f"Bearer {request.app.state.settings.mobile_signature_token}"
    return authorization == expected


@router.post("/mobile-signature/v1/signature", response_model=None)
async def start_signature(body: SignatureRequest, request: Request,
                          authorization: str | None = Header(default=None)) -> Any:
    if not _authorized(request, authorization):
        return problem(401, "unauthenticated", "Unauthorized", "Wrong relying party token.")
    try:
        digest = base64.b64decode(body.hash, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 32:
        return invalid([{"name": "hash", "detail": "base64 of a SHA-256 digest"}])
    phone = vietnamese_mobile_e164(body.phoneNumber) or body.phoneNumber
    session = _provider(request).start(phone, digest, body.displayText)
    return {"sessionID": session.id}


@router.get("/mobile-signature/v1/signature/session/{session_id}", response_model=None)
async def session_status(session_id: str, request: Request,
                         timeout_ms: int = Query(default=0, alias="timeoutMs", ge=0, le=60_000),
                         authorization: str | None = Header(default=None)) -> Any:
    if not _authorized(request, authorization):
        return problem(401, "unauthenticated", "Unauthorized", "Wrong relying party token.")
    provider = _provider(request)
    session = await provider.status(session_id, timeout_ms / 1000)
    if session is None:
        return not_found("No such session.")
    if session.state == "RUNNING":
        return {"state": "RUNNING"}
    answer: dict[str, Any] = {"state": "COMPLETE", "result": session.result}
    if session.result == "OK" and session.signature is not None:
        answer["signature"] = {"value": base64.b64encode(session.signature).decode(),
                               "algorithm": "SHA256WithSignature"}
        answer["cert"] = provider.certificate_b64(session.phone)
    return answer


@router.post("/dev/sim-subscribers", status_code=201, response_model=None, tags=["dev"])
async def add_sim_subscriber(body: NewSimSubscriber, request: Request) -> Any:
    phone = vietnamese_mobile_e164(body.phone)
    if phone is None:
        return invalid([{"name": "phone", "detail": "not a Vietnamese mobile number"}])
    ca: SandboxCA = request.app.state.ca
    issued = ca.issue(subject_type=body.subject_type, full_name=body.full_name,
                      id_number=body.id_number, tax_code=body.tax_code, key_type=body.key_type)
    _provider(request).add_subscriber(phone, issued, body.pin)
    return {"phone": phone, "serial": issued.serial, "certificate_pem": issued.certificate_pem(),
            "chain_pem": ca.chain_pem()}


@router.get("/dev/sim", response_model=None, tags=["dev"])
async def pending_requests(request: Request) -> Any:
    """Every SIM's pending request, newest first (the sandbox page lists them)."""
    provider = _provider(request)
    phones = dict.fromkeys(s.phone for s in reversed(list(provider.sessions.values())))
    pending = [session for session in map(provider.pending, phones) if session is not None]
    return [{"phone": session.phone, "display_text": session.display_text,
             "verification_code": verification_code(session.digest),
             "created_at": session.created_at.isoformat()} for session in pending]


@router.get("/dev/sim/{phone}", response_model=None, tags=["dev"])
async def pending_request(phone: str, request: Request) -> Any:
    """What the phone shows: the pending request and its verification code."""
    session = _pending(request, phone)
    if session is None:
        return not_found("Không có yêu cầu ký nào đang chờ trên SIM này.")
    return {"phone": session.phone, "display_text": session.display_text,
            "verification_code": verification_code(session.digest)}


@router.post("/dev/sim/{phone}/approve", response_model=None, tags=["dev"])
async def approve(phone: str, body: Pin, request: Request) -> Any:
    session = _pending(request, phone)
    if session is None:
        return not_found("Không có yêu cầu ký nào đang chờ trên SIM này.")
    if not _provider(request).subscribers[session.phone].pin_matches(body.pin):
        return invalid([{"name": "pin", "detail": "Mã PIN không đúng."}])
    _provider(request).approve(session)
    return {"status": "approved", "verification_code": verification_code(session.digest)}


@router.post("/dev/sim/{phone}/reject", response_model=None, tags=["dev"])
async def reject(phone: str, request: Request) -> Any:
    session = _pending(request, phone)
    if session is None:
        return not_found("Không có yêu cầu ký nào đang chờ trên SIM này.")
    session.complete("USER_CANCELLED")
    return {"status": "rejected"}


def _pending(request: Request, phone: str) -> Any:
    e164 = vietnamese_mobile_e164(phone)
    return _provider(request).pending(e164) if e164 else None



