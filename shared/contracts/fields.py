"""Field types every contract and the gateway's HTTP models share, so a limit is written once.

Strict strings (a number where a string belongs is refused, not converted) with the bounds that
keep one request cheap. What a value means (a real CCCD, a Vietnamese mobile number, a strong
password) is the owning service's to judge, in its ``domain/``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictStr, StringConstraints, TypeAdapter

from shared.contracts.base import Contract

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_string(value: Any) -> Any:
    # Only "YYYY-MM-DD": pydantic alone would also take 19900517 as a Unix timestamp.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("iso_date")


def _blank_is_absent(value: Any) -> Any:
    return None if value == "" else value


IsoDate = Annotated[date, BeforeValidator(_iso_date_string)]
IdNumber = Annotated[StrictStr, StringConstraints(min_length=1, max_length=20)]
FullName = Annotated[StrictStr, StringConstraints(min_length=1, max_length=200)]
Phone = Annotated[StrictStr, StringConstraints(min_length=1, max_length=32)]
# A number as the services pass it to one another (E.164, already normalised by its owner).
E164Phone = Annotated[StrictStr, StringConstraints(pattern=r"^\+[1-9]\d{7,14}$")]
# The id of the caller's flow a code or a signature challenge is bound to.
FlowId = Annotated[StrictStr, StringConstraints(min_length=1, max_length=128)]
ShortText = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
Email = Annotated[
    Annotated[StrictStr, StringConstraints(min_length=1, max_length=254)] | None,
    BeforeValidator(_blank_is_absent),
]
OtpCode = Annotated[StrictStr, StringConstraints(min_length=1, max_length=16)]
# Long enough for any passphrase, short enough that hashing it is no denial of service.
Password = Annotated[StrictStr, StringConstraints(min_length=1, max_length=256)]
# What a USB token returned: PEM text and a base64 signature; their meaning is pki's.
Pem = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64_000)]
PemChain = Annotated[list[Pem], Field(max_length=8)]
SignatureValue = Annotated[StrictStr, StringConstraints(min_length=1, max_length=4_000)]
# Ids and tokens the services mint (uuid4, urlsafe tokens).
Identifier = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
Token = Annotated[StrictStr, StringConstraints(min_length=1, max_length=200)]
Sex = Literal["male", "female"]
SubjectType = Literal["citizen", "enterprise"]


def max_length(field_type: Any) -> int:
    """The longest string a field type above takes: what a page's form allows (its
    ``maxlength``, its own check before it builds a request), so the limit is this one."""
    schema = TypeAdapter(field_type).json_schema()
    for candidate in (schema, *schema.get("anyOf", ())):
        if "maxLength" in candidate:
            return int(candidate["maxLength"])
    raise ValueError(f"{field_type!r} has no maximum length")


class FlowRef(Contract):
    """A self-service flow named by its id and proven by its token (the X-Flow-Token)."""

    id: Identifier
    flow_token: Token


class ClientFields(Contract):
    """Where a request came from, as the gateway saw it (login history, per-address limits)."""

    ip: Annotated[StrictStr, StringConstraints(max_length=64)] | None = None
    user_agent: Annotated[StrictStr, StringConstraints(max_length=512)] | None = None


class SignatureProof(Contract):
    """What a USB token returned over a challenge: its certificate (and chain) and signature;
    their meaning is pki's."""

    certificate: Pem
    chain: PemChain | Pem | None = None
    signature: SignatureValue


class Office(Contract):
    """The post office an agent works at: profile keeps it on the agent's account (and says it
    in ``agent_session``), registration records it on every counter registration."""

    name: Annotated[StrictStr, StringConstraints(min_length=1, max_length=200)]
    code: Annotated[StrictStr, StringConstraints(min_length=1, max_length=32)] | None = None
