"""Staged credentials (issue 11): a password reaches profile, its owner, by request/reply and
never rides an event.

Registration hands the plain password, its confirmation, the ID number and the phone to
profile (``stage_credential``); profile, the owner of the password rule, checks the rule, then
the confirmation, then hashes it and keeps the hash under a random ``credential_id``
bound to the registration. AccountCreated names only that id, and profile's consumer takes the
hash into the account in the same transaction that creates it (a staged credential is taken
once). The id is drawn per call, so of two concurrent password submissions the one whose
completion won is the password the account gets.

A staged credential lives as long as the event stream keeps the AccountCreated that may claim
it (``DVCID_EVENTS_MAX_AGE_DAYS``): a consumer that is late by days still finds it, and a
credential whose registration never completed is purged with the events it could have served.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StagedCredential:
    credential_id: str
    registration_id: str
    password_hash: str
    created_at: datetime
    expires_at: datetime
