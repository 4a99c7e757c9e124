"""Registration at a post office counter (Bưu điện Việt Nam): citizens, level 3.

A clerk (an agent with their own account) checks the citizen's ID card in person and enters
the identity (ID number, full name, birth date, sex), the phone and optionally an e-mail, and
confirms the check (``id_document_checked: true``). The same identity rules as the other
methods apply (a real CCCD structure agreeing with birth date and sex, a real Vietnamese
mobile). The document was seen, which is why this is level 3.

The phone is proven at the counter (FLOWS.md "Whose phone"): a code goes to it and the
citizen reads it back to the clerk, who enters it (``CounterFlow``, two steps). Only then is
the account made, with an issued username and a one-time initial password sent to that phone.
A clerk may start at most ``DAILY_LIMIT`` counter registrations a (Vietnamese) day, so a
dishonest or hijacked agent account cannot mint accounts in bulk.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.registration.domain.errors import FlowExpired, FlowNotFound, FlowState
from services.registration.domain.fields import FieldErrors
from services.registration.domain.flow import Agent, RegistrationFlow, Status
from services.registration.domain.identity import Identity
from services.registration.domain.methods import person_fields as person
from services.registration.domain.model import VIETNAM_TZ
from shared.contracts.registration import CounterStart

METHOD = "post_office"
LEVEL = 3
USERNAME_PREFIX = "BD"  # bưu điện
USERNAME_DIGITS = 10
INITIAL_PASSWORD_LENGTH = 12
# Letters and digits that are never misread on a phone screen (no 0/O, 1/l/I), and symbols
# that are plain GSM-7 characters (one SMS segment, typed easily on any keyboard).
_LOWER = "abcdefghijkmnpqrstuvwxyz"
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "23456789"
_SYMBOLS = "#@%+=!?"
# The otp service's purpose for the code read back at the counter (its SMS says so).
OTP_PURPOSE = "counter"
# Long enough for a resend and a slow reading; the citizen is standing at the counter.
FLOW_LIFETIME = timedelta(minutes=15)
DAILY_LIMIT = 50


@dataclass(frozen=True)
class PostOfficeApplication:
    identity: Identity
    phone: str  # E.164
    email: str | None
    agent: Agent


def parse_application(request: CounterStart, today: date) -> PostOfficeApplication:
    """Field problems together (``validation_error``), then ``invalid_id_number`` and
    ``invalid_phone``, as the mobile method does."""
    errors = FieldErrors()
    declared = person.declared_citizen(errors, request, today)
    if request.id_document_checked is not True:
        errors.add("id_document_checked",
                   "Nhân viên phải kiểm tra giấy tờ tùy thân (CCCD/CMND) bản gốc của công dân "
                   "và xác nhận trước khi đăng ký.")
    errors.raise_if_any()
    citizen = declared.checked()
    return PostOfficeApplication(identity=citizen.identity, phone=citizen.phone,
                                 email=citizen.email, agent=_agent(request))


def _agent(request: CounterStart) -> Agent:
    """Who registers, as the gateway read the agent's session from profile."""
    office = request.office
    return Agent(request.agent_account_id,
                 {"name": office.name} | ({"code": office.code} if office.code else {}))


def new_username(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    return f"{USERNAME_PREFIX}{randbelow(10**USERNAME_DIGITS):0{USERNAME_DIGITS}d}"


def new_initial_password(choice: Callable[[str], str] = secrets.choice,
                         shuffle: Callable[[list[str]], None] | None = None) -> str:
    """12 characters from ``secrets`` (about 70 bits) with every class the password rule
    asks for, so even the one-time password passes it."""
    alphabet = _LOWER + _UPPER + _DIGITS + _SYMBOLS
    chars = [choice(_LOWER), choice(_UPPER), choice(_DIGITS), choice(_SYMBOLS)]
    chars += [choice(alphabet) for _ in range(INITIAL_PASSWORD_LENGTH - len(chars))]
    (shuffle or _secure_shuffle)(chars)
    return "".join(chars)


def _secure_shuffle(items: list[str]) -> None:
    secrets.SystemRandom().shuffle(items)

@dataclass(frozen=True)
class CounterRegistration:
    """The record of a counter registration: who was registered, by which agent, where.
    Holds no password; the username is unique."""

    id: str
    account_id: str
    id_number: str
    username: str
    agent: Agent
    created_at: datetime


def new_flow(flow_id: str, application: PostOfficeApplication,
             now: datetime) -> RegistrationFlow:
    """A counter registration waiting for the code sent to the citizen's phone. Bound to the
    agent who started it (no flow token): no other agent can finish it."""
    return RegistrationFlow(
        id=flow_id, method=METHOD, status=Status.OTP_SENT, subject_type="citizen",
        created_at=now, expires_at=now + FLOW_LIFETIME, identity=application.identity,
        phone=application.phone, email=application.email, agent=application.agent)


def require_open_for(flow: RegistrationFlow, agent_account_id: str, now: datetime) -> None:
    """Only the agent who started a counter flow may go on with it, while it waits for the
    code and has not lapsed."""
    if flow.agent is None or flow.agent.account_id != agent_account_id:
        raise FlowNotFound()
    if flow.status != Status.OTP_SENT:
        raise FlowState()
    if flow.is_expired(now):
        raise FlowExpired()


def agent_day(agent_account_id: str, now: datetime) -> str:
    """The key of an agent's counter day: the daily limit follows the Vietnamese calendar."""
    return f"{agent_account_id}:{now.astimezone(VIETNAM_TZ).date().isoformat()}"


def seconds_until_tomorrow(now: datetime) -> int:
    local = now.astimezone(VIETNAM_TZ)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(),
                                tzinfo=VIETNAM_TZ)
    return max(1, int((tomorrow - local).total_seconds()))
