"""Flows written by the former flow families (``signature_registrations``, ``counter_flows``)
move into the one ``registrations`` collection at start-up, on a real server: read back as
the one flow, steps go on with them, and running it again moves nothing twice."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.registration.adapters.flow_migration import (
    COUNTER_FLOWS,
    SIGNATURE_REGISTRATIONS,
    migrate_flows,
)
from services.registration.adapters.mongo import INDEXES, REGISTRATIONS, MongoUnitOfWork
from services.registration.domain.flow import Agent, Status
from services.registration.domain.identity import Identity
from services.registration.domain.signature import CertificateBinding, CertifiedIdentity
from shared.storage import connect_mongo, ensure_indexes

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def client(test_servers: Any) -> AsyncIterator[Any]:
    mongo = connect_mongo(test_servers.mongo_url)
    yield mongo
    await mongo.close()


@pytest.fixture
async def db(client: Any) -> AsyncIterator[Any]:
    database = client[f"t{uuid.uuid4().hex[:8]}_registration"]
    await ensure_indexes(database, INDEXES)
    yield database
    await client.drop_database(database.name)


# Documents exactly as the former adapters (signature_mongo.py, post_office_mongo.py) wrote them.
USB_AT_CONFIRMATION = {
    "_id": "usb-1", "status": "awaiting_confirmation", "method": "usb",
    "subject_type": "enterprise", "flow_token_hash": "hash-1", "created_at": NOW,
    "expires_at": NOW + timedelta(minutes=30), "updated_at": NOW,
    "identity": {"id_type": "MST", "id_number": "0100109106", "full_name": "Công ty Sen Vàng",
                 "tax_code": "0100109106"},
    "certificate": {"fingerprint_sha256": "ab" * 32, "serial": "1f", "issuer": "CN=CA",
                    "not_after": "2027-01-01T00:00:00Z"},
}
SIM_WAITING = {
    "_id": "sim-1", "status": "awaiting_signature", "method": "sim", "subject_type": "citizen",
    "flow_token_hash": "hash-2", "created_at": NOW, "expires_at": NOW + timedelta(minutes=30),
    "updated_at": NOW, "phone": "+84912345678",
}
COUNTER_WAITING = {
    "_id": "counter-1", "status": "otp_sent", "agent_account_id": "agent-1",
    "office": {"name": "Bưu điện Hà Nội", "code": "HN-001"},
    "identity": {"id_number": "079185000001", "full_name": "Lê Thị Bích",
                 "birth_date": "1985-01-01", "sex": "female"},
    "phone": "+84987654321", "email": None, "created_at": NOW,
    "expires_at": NOW + timedelta(minutes=15), "purge_at": NOW + timedelta(days=1),
}


async def test_live_flows_of_the_old_collections_move_once(db: Any, client: Any) -> None:
    await db[SIGNATURE_REGISTRATIONS].insert_many([USB_AT_CONFIRMATION, SIM_WAITING])
    await db[COUNTER_FLOWS].insert_one(COUNTER_WAITING)

    assert await migrate_flows(db) == 3
    assert await migrate_flows(db) == 0  # idempotent: nothing left to move
    assert await db[SIGNATURE_REGISTRATIONS].count_documents({}) == 0
    assert await db[COUNTER_FLOWS].count_documents({}) == 0
    assert await db[REGISTRATIONS].count_documents({}) == 3

    async with MongoUnitOfWork(client, db) as uow:
        usb = await uow.registrations.get("usb-1")
        sim = await uow.registrations.get("sim-1")
        counter = await uow.registrations.get("counter-1")
    assert usb is not None and usb.status == Status.AWAITING_CONFIRMATION
    assert usb.identity == CertifiedIdentity("MST", "0100109106", "Công ty Sen Vàng",
                                             "0100109106")
    assert usb.certificate == CertificateBinding("ab" * 32, "1f", "CN=CA",
                                                 "2027-01-01T00:00:00Z")
    assert usb.flow_token_hash == "hash-1"
    assert sim is not None and sim.phone == "+84912345678" and sim.identity is None
    assert counter is not None and counter.method == "post_office"
    assert counter.status == Status.OTP_SENT and counter.flow_token_hash is None
    assert counter.agent == Agent("agent-1", {"name": "Bưu điện Hà Nội", "code": "HN-001"})
    assert isinstance(counter.identity, Identity) and counter.identity.sex == "female"
    assert counter.expires_at == NOW + timedelta(minutes=15)


async def test_a_copy_left_by_a_crash_before_the_delete_is_not_a_second_flow(db: Any) -> None:
    await db[SIGNATURE_REGISTRATIONS].insert_one(SIM_WAITING)
    await db[REGISTRATIONS].insert_one(dict(SIM_WAITING))  # copied, then the crash
    assert await migrate_flows(db) == 0
    assert await db[SIGNATURE_REGISTRATIONS].count_documents({}) == 0
    assert await db[REGISTRATIONS].count_documents({}) == 1
