"""Staged credentials (issue 11): a password reaches profile, its owner, by request/reply and
never rides an event.

Registration checks the password policy, then hands the plain password to profile
(``stage_credential``); profile hashes it and keeps the hash under a random ``credential_id``
bound to the registration. AccountCreated names only that id, and profile's consumer takes the
hash into the account in the same transaction that creates it (a staged credential is taken
once). The id is drawn per call, so of two concurrent password submissions the one whose
completion won is the password the account gets.

A staged credential lives as long as the event stream keeps the AccountCreated that may claim
it (``DVCID_EVENTS_MAX_AGE_DAYS``): a consumer that is late by days still finds it, and a
credential whose registration never completed is purged with the events it could have served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.profile.domain.errors import ValidationFailed

# argon2 hashes any length; the bound keeps one request from costing unbounded memory.
MAX_PASSWORD_LENGTH = 1024


@dataclass(frozen=True)
class StagedCredential:
    credential_id: str
    registration_id: str
    password_hash: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class StageCredential:
    registration_id: str
    password: str


def parse_stage(payload: Mapping[str, Any]) -> StageCredential:
    """The command; values are never echoed in an error (one of them is a password)."""
    registration_id, password = payload.get("registration_id"), payload.get("password")
    fields = []
    if not isinstance(registration_id, str) or not registration_id:
        fields.append({"name": "registration_id", "detail": "Thiếu mã đăng ký."})
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD_LENGTH:
        fields.append({"name": "password", "detail": "Mật khẩu không hợp lệ."})
    if fields:
        raise ValidationFailed(fields=fields)
    assert isinstance(registration_id, str) and isinstance(password, str)
    return StageCredential(registration_id, password)
