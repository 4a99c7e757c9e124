"""The state of the simulated outside world: in memory, seeded from ``seed.json`` at start.

This is a simulator for dev, demo and tests, never production: nothing here is persisted, a
restart begins again from the seed, and there is no locking because every change happens on
the single event loop between two awaits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sandbox.phones import vietnamese_mobile_e164


@dataclass(frozen=True)
class TelcoSubscriber:
    """A mobile subscription as registered by the carrier (chính chủ)."""

    phone: str  # E.164
    id_number: str
    full_name: str
    birth_date: date
    # Not part of the registry's answer; kept so the seed documents whose CCCD it is.
    sex: str | None = None
    status: str = "active"  # active | suspended | terminated (docs/external/telco-registry.md)

    def to_registry(self) -> dict[str, Any]:
        return {"phone": self.phone, "id_number": self.id_number, "full_name": self.full_name,
                "birth_date": self.birth_date.isoformat(), "status": self.status}


@dataclass(frozen=True)
class InsuredPerson:
    """A record of the BHXH (social insurance) registry (docs/external/bhxh-registry.md)."""

    bhxh_code: str  # 10 digits
    id_number: str
    full_name: str
    birth_date: date
    sex: str  # male | female
    phone: str | None = None  # E.164, as the insurer holds it (often out of date)

    def to_registry(self) -> dict[str, Any]:
        record: dict[str, Any] = {"bhxh_code": self.bhxh_code, "id_number": self.id_number,
                                  "full_name": self.full_name,
                                  "birth_date": self.birth_date.isoformat(), "sex": self.sex}
        if self.phone:
            record["phone"] = self.phone
        return record


@dataclass(frozen=True)
class SentMessage:
    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    sent_at: datetime

    def to_inbox(self) -> dict[str, Any]:
        return {"to": self.to, "body": self.body,
                "sent_at": self.sent_at.isoformat().replace("+00:00", "Z"),
                "from": self.from_, "sid": self.sid}


# The namespace of VNeID's subject identifiers: ``sub`` is a UUID derived from the CCCD, so it is
# the same for a citizen across restarts and for every relying party, and is not the CCCD itself.
VNEID_SUBJECTS = uuid.UUID("6f1c7f5e-2b1e-4a8e-9a43-5d0c1f3b7a11")


@dataclass(frozen=True)
class VneidCitizen:
    """A citizen's VNeID account (level 2: the app activated with the CCCD chip and a PIN)."""

    id_number: str  # the CCCD, 12 digits
    full_name: str
    birth_date: date
    sex: str | None
    phone: str | None  # E.164
    pin_hash: bytes = field(repr=False)
    salt: bytes = field(repr=False)
    level: int = 2

    @classmethod
    def with_pin(cls, id_number: str, full_name: str, birth_date: date, sex: str | None,
                 phone: str | None, pin: str) -> VneidCitizen:
        salt = secrets.token_bytes(16)
        return cls(id_number=id_number, full_name=full_name, birth_date=birth_date, sex=sex,
                   phone=phone, pin_hash=_pin_hash(pin, salt), salt=salt)

    @property
    def subject(self) -> str:
        return str(uuid.uuid5(VNEID_SUBJECTS, self.id_number))

    def pin_matches(self, pin: str) -> bool:
        return hmac.compare_digest(_pin_hash(pin, self.salt), self.pin_hash)


def _pin_hash(pin: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, 10_000)


class SmsFault(StrEnum):
    """What the SMS gateway answers for a number, set by tests through ``/dev/sms-faults``."""

    NONE = "none"
    INVALID_NUMBER = "invalid_number"
    UNREACHABLE = "unreachable"
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"


@dataclass
class World:
    clock: Callable[[], datetime]
    subscribers: dict[str, TelcoSubscriber] = field(default_factory=dict)
    messages: list[SentMessage] = field(default_factory=list)
    sms_faults: dict[str, SmsFault] = field(default_factory=dict)
    insured: dict[str, InsuredPerson] = field(default_factory=dict)
    # VNeID accounts by CCCD (sandbox/vneid).
    vneid_citizens: dict[str, VneidCitizen] = field(default_factory=dict)

    @classmethod
    def from_seed(cls, path: Path, clock: Callable[[], datetime]) -> World:
        seed = json.loads(path.read_text(encoding="utf-8"))
        world = cls(clock=clock)
        for record in seed.get("telco_subscribers", []):
            subscriber = _subscriber_from_seed(record)
            world.add_subscriber(subscriber)
            if record.get("vneid_pin"):
                world.add_vneid_citizen(VneidCitizen.with_pin(
                    subscriber.id_number, subscriber.full_name, subscriber.birth_date,
                    subscriber.sex, subscriber.phone, record["vneid_pin"]))
        for record in seed.get("bhxh_records", []):
            world.add_insured(_insured_from_seed(record))
        return world

    # BHXH registry
    def add_insured(self, person: InsuredPerson) -> None:
        """Adds or replaces the record of a BHXH code."""
        self.insured[person.bhxh_code] = person

    def insured_person(self, bhxh_code: str) -> InsuredPerson | None:
        return self.insured.get(bhxh_code)

    # VNeID
    def add_vneid_citizen(self, citizen: VneidCitizen) -> None:
        """Adds or replaces the VNeID account of a CCCD."""
        self.vneid_citizens[citizen.id_number] = citizen

    def vneid_citizen(self, id_number: str) -> VneidCitizen | None:
        return self.vneid_citizens.get(id_number)

    # Telco subscriber registry
    def add_subscriber(self, subscriber: TelcoSubscriber) -> None:
        """Adds or replaces the record of a phone (a SIM changes hands)."""
        self.subscribers[subscriber.phone] = subscriber

    def subscriber(self, phone_e164: str) -> TelcoSubscriber | None:
        return self.subscribers.get(phone_e164)

    # SMS gateway
    def send_sms(self, account_sid: str, to: str, from_: str, body: str) -> SentMessage:
        message = SentMessage(sid="SM" + secrets.token_hex(16), account_sid=account_sid, to=to,
                              from_=from_, body=body, sent_at=self.clock())
        self.messages.append(message)
        return message

    def inbox(self, phone_e164: str | None = None) -> list[SentMessage]:
        """Messages to a phone (or all), newest first."""
        found = [m for m in self.messages if phone_e164 is None or m.to == phone_e164]
        return list(reversed(found))

    def set_sms_fault(self, phone_e164: str, fault: SmsFault) -> None:
        if fault is SmsFault.NONE:
            self.sms_faults.pop(phone_e164, None)
        else:
            self.sms_faults[phone_e164] = fault

    def sms_fault(self, phone_e164: str) -> SmsFault:
        return self.sms_faults.get(phone_e164, SmsFault.NONE)


def _subscriber_from_seed(record: dict[str, Any]) -> TelcoSubscriber:
    phone = vietnamese_mobile_e164(record["phone"])
    if phone is None:
        raise ValueError(f"seed: not a Vietnamese mobile number: {record['phone']}")
    return TelcoSubscriber(phone=phone, id_number=record["id_number"],
                           full_name=record["full_name"],
                           birth_date=date.fromisoformat(record["birth_date"]),
                           sex=record.get("sex"), status=record.get("status", "active"))


def _insured_from_seed(record: dict[str, Any]) -> InsuredPerson:
    phone = record.get("phone")
    e164 = vietnamese_mobile_e164(phone) if phone else None
    if phone and e164 is None:
        raise ValueError(f"seed: not a Vietnamese mobile number: {phone}")
    return InsuredPerson(bhxh_code=record["bhxh_code"], id_number=record["id_number"],
                         full_name=record["full_name"],
                         birth_date=date.fromisoformat(record["birth_date"]),
                         sex=record["sex"], phone=e164)
