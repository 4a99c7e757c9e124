"""The oidc Mongo adapters on a real server: a code's first use under parallel load, revoking a
grant's tokens, and the signing keys sealed at rest (no private key material in clear)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from joserfc import jwt
from joserfc.jwk import KeySet
from pymongo.asynchronous.database import AsyncDatabase

from services.oidc.adapters.keys import MongoSigningKeys, Sealer
from services.oidc.adapters.mongo import (
    INDEXES,
    SIGNING_KEYS,
    MongoAccessTokens,
    MongoAssertionIds,
    MongoGrants,
    MongoRefreshTokens,
    MongoSessionClients,
)
from services.oidc.domain.models import AccessToken, Grant, RefreshToken
from shared.storage import connect_mongo, ensure_indexes

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(test_servers: Any) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client = connect_mongo(test_servers.mongo_url)
    database = client[f"t{uuid.uuid4().hex[:8]}_oidc"]
    await ensure_indexes(database, INDEXES)
    yield database
    await client.drop_database(database.name)
    await client.close()


def grant(now: datetime) -> Grant:
    return Grant(code_hash=uuid.uuid4().hex, grant_id=uuid.uuid4().hex, client_id="c",
                 redirect_uri="https://a.gov.vn/cb", scopes=("openid",), nonce="n",
                 code_challenge="x" * 43, account_id="acc", session_id="ses", level=2,
                 method="password", auth_time=now, created_at=now,
                 expires_at=now + timedelta(seconds=60))


async def test_of_parallel_uses_of_a_code_exactly_one_is_first(db: AsyncDatabase[Any]) -> None:
    grants = MongoGrants(db)
    now = datetime.now(UTC)
    made = grant(now)
    await grants.add(made)
    answers = await asyncio.gather(*(grants.consume(made.code_hash, now) for _ in range(8)))
    assert sorted(first for _, first in answers) == [False] * 7 + [True]
    assert all(found is not None and found.grant_id == made.grant_id for found, _ in answers)
    assert await grants.consume("unknown", now) == (None, False)


async def test_revoking_a_grant_revokes_its_tokens_only(db: AsyncDatabase[Any]) -> None:
    tokens = MongoAccessTokens(db)
    now = datetime.now(UTC)
    for token_hash, grant_id in (("t1", "g1"), ("t2", "g1"), ("t3", "g2")):
        await tokens.add(AccessToken(token_hash=token_hash, grant_id=grant_id, client_id="c",
                                     account_id="acc", subject="sub", scopes=("openid",),
                                     issued_at=now, expires_at=now + timedelta(minutes=10)))
    assert await tokens.revoke_grant("g1", now) == 2
    assert await tokens.revoke_grant("g1", now) == 0
    t1, t3 = await tokens.get("t1"), await tokens.get("t3")
    assert t1 is not None and t1.revoked_at is not None
    assert t3 is not None and t3.revoked_at is None


async def test_an_assertion_id_is_accepted_once(db: AsyncDatabase[Any]) -> None:
    ids = MongoAssertionIds(db)
    until = datetime.now(UTC) + timedelta(minutes=5)
    assert await ids.first_use("c", "jti-1", until)
    assert not await ids.first_use("c", "jti-1", until)
    assert await ids.first_use("other", "jti-1", until)


async def test_signing_keys_are_sealed_and_rotate(db: AsyncDatabase[Any]) -> None:
    keys = MongoSigningKeys(db, Sealer("k" * 43), timedelta(days=1))
    now = datetime.now(UTC)
    await keys.ensure(now)
    await keys.ensure(now)  # once only
    kid, key = await keys.current(now)
    (stored,) = [doc async for doc in db[SIGNING_KEYS].find()]
    private_d = key.as_dict(private=True)["d"]
    assert private_d not in json.dumps(stored, default=str)  # neither in the JWK nor anywhere
    assert private_d.encode() not in stored["sealed"]
    assert "d" not in stored["public_jwk"]
    with pytest.raises(InvalidTag):  # another secret cannot open it
        Sealer("z" * 43).open(kid, stored["sealed"])
    signed = jwt.encode({"alg": "ES256", "kid": kid}, {"sub": "x"}, key)
    new_kid = await keys.rotate(now)
    assert new_kid != kid and (await keys.current(now))[0] == new_kid
    published = await keys.published(now)
    assert [k["kid"] for k in published] == [new_kid, kid]
    jwt.decode(signed, KeySet.import_key_set({"keys": published}))
    assert [k["kid"] for k in await keys.published(now + timedelta(days=1, seconds=1))] == [new_kid]
    # Another process (a fresh adapter) opens the sealed key with the same secret.
    again = MongoSigningKeys(db, Sealer("k" * 43), timedelta(days=1))
    assert (await again.current(now))[0] == new_kid


async def test_a_sessions_clients_are_taken_once(db: AsyncDatabase[Any]) -> None:
    clients = MongoSessionClients(db)
    now = datetime.now(UTC)
    await clients.add("s1", "c1", "sub-1", now)
    await clients.add("s1", "c1", "sub-1", now)  # signed in twice: one entry
    await clients.add("s1", "c2", "sub-2", now)
    await clients.add("s2", "c1", "sub-3", now)
    assert sorted(await clients.take("s1")) == [("c1", "sub-1"), ("c2", "sub-2")]
    assert await clients.take("s1") == []
    assert await clients.take("s2") == [("c1", "sub-3")]


async def test_of_parallel_uses_of_a_refresh_token_exactly_one_is_first(
        db: AsyncDatabase[Any]) -> None:
    tokens = MongoRefreshTokens(db)
    now = datetime.now(UTC)
    await tokens.add(RefreshToken(
        token_hash="r1", family_id="f1", client_id="c", account_id="acc", subject="sub",
        scopes=("openid",), session_id="s1", level=2, method="password", auth_time=now,
        issued_at=now, expires_at=now + timedelta(hours=8)))
    answers = await asyncio.gather(*(tokens.use("r1", now) for _ in range(6)))
    assert sorted(first for _, first in answers) == [False] * 5 + [True]
    assert await tokens.revoke_session("s1", now) == 1
    assert await tokens.revoke_family("f1", now) == 0
    found = await tokens.get("r1")
    assert found is not None and found.revoked_at is not None and found.used_at is not None
