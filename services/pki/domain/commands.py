"""Commands the service accepts, checked at the edge: a bad input changes nothing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from services.pki.domain.certificates import parse_certificate, parse_chain, parse_signature
from services.pki.domain.challenge import PURPOSES
from services.pki.domain.errors import InvalidInput

MAX_FLOW_ID_LENGTH = 128
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
MAX_WAIT_SECONDS = 8.0


@dataclass(frozen=True)
class FlowRef:
    flow_id: str
    purpose: str

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> FlowRef:
        problems = _flow_problems(payload)
        _raise_if(problems)
        return cls(flow_id=payload["flow_id"], purpose=payload["purpose"])


@dataclass(frozen=True)
class VerifySignature:
    flow: FlowRef
    certificate: x509.Certificate
    chain: list[x509.Certificate]
    signature: bytes

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> VerifySignature:
        flow = FlowRef.parse(payload)
        return cls(flow=flow, certificate=parse_certificate(payload.get("certificate")),
                   chain=parse_chain(payload.get("chain")),
                   signature=parse_signature(payload.get("signature")))


@dataclass(frozen=True)
class StartSim:
    flow: FlowRef
    phone: str

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> StartSim:
        problems = _flow_problems(payload)
        phone = payload.get("phone")
        if not isinstance(phone, str) or not E164.match(phone):
            problems.append({"name": "phone",
                             "detail": "Số điện thoại phải ở dạng quốc tế, ví dụ +84912345678."})
        _raise_if(problems)
        return cls(flow=FlowRef(payload["flow_id"], payload["purpose"]), phone=str(phone))


@dataclass(frozen=True)
class SimStatus:
    flow: FlowRef
    wait_seconds: float

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> SimStatus:
        flow = FlowRef.parse(payload)
        wait = payload.get("wait_seconds", 0)
        if not isinstance(wait, int | float) or isinstance(wait, bool) or wait < 0:
            _raise_if([{"name": "wait_seconds", "detail": "Thời gian chờ là số giây không âm."}])
        return cls(flow=flow, wait_seconds=min(float(wait), MAX_WAIT_SECONDS))


def _flow_problems(payload: Mapping[str, Any]) -> list[dict[str, str]]:
    problems = []
    flow_id = payload.get("flow_id")
    if not isinstance(flow_id, str) or not 0 < len(flow_id) <= MAX_FLOW_ID_LENGTH:
        problems.append({"name": "flow_id", "detail": "Thiếu hoặc sai mã luồng xử lý."})
    if payload.get("purpose") not in PURPOSES:
        problems.append({"name": "purpose",
                         "detail": f"Mục đích phải là một trong: {', '.join(PURPOSES)}."})
    return problems


def _raise_if(problems: list[dict[str, str]]) -> None:
    if problems:
        raise InvalidInput(fields=problems)
