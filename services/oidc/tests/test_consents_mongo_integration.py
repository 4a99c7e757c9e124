"""The consent adapters on a real server: a consent remembered per account and client (first
and last use), listed per account, forgotten; an account's tokens at one client ended, and
nothing else."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.oidc.adapters.consents import CONSENT_INDEXES, MongoClientGrants, MongoConsents
from services.oidc.adapters.mongo import INDEXES, MongoAccessTokens, MongoRefreshTokens
from services.oidc.domain.models import AccessToken, RefreshToken
from shared.storage import connect_mongo, ensure_indexes

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(test_servers: Any) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client = connect_mongo(test_servers.mongo_url)
    database = client[f"t{uuid.uuid4().hex[:8]}_oidc"]
    await ensure_indexes(database, INDEXES | CONSENT_INDEXES)
    yield database
    await client.drop_database(database.name)
    await client.close()


async def test_a_consent_is_remembered_listed_and_forgotten(
        db: AsyncDatabase[dict[str, Any]]) -> None:
    consents = MongoConsents(db)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    assert await consents.get("acc", "c1") is None
    await consents.grant("acc", "c1", ("openid", "profile"), first)
    await consents.grant("acc", "c1", ("openid", "profile", "phone"), first + timedelta(hours=1))
    await consents.used("acc", "c1", first + timedelta(hours=2))
    await consents.grant("acc", "c2", ("openid",), first)
    await consents.grant("other", "c1", ("openid",), first)
    found = await consents.get("acc", "c1")
    assert found is not None and found.scopes == ("openid", "profile", "phone")
    assert found.granted_at.replace(tzinfo=UTC) == first
    assert found.last_used_at.replace(tzinfo=UTC) == first + timedelta(hours=2)
    assert sorted(c.client_id for c in await consents.of_account("acc")) == ["c1", "c2"]
    assert await consents.forget("acc", "c1") and not await consents.forget("acc", "c1")
    assert await consents.get("acc", "c1") is None
    assert await consents.get("other", "c1") is not None


async def test_revoking_ends_the_accounts_tokens_at_that_client_only(
        db: AsyncDatabase[dict[str, Any]]) -> None:
    access, refresh = MongoAccessTokens(db), MongoRefreshTokens(db)
    now = datetime.now(UTC)
    for n, (account, client) in enumerate([("acc", "c1"), ("acc", "c2"), ("other", "c1")]):
        await access.add(AccessToken(token_hash=f"a{n}", grant_id=f"g{n}", client_id=client,
                                     account_id=account, subject="s", scopes=("openid",),
                                     issued_at=now, expires_at=now + timedelta(minutes=10)))
        await refresh.add(RefreshToken(token_hash=f"r{n}", family_id=f"g{n}", client_id=client,
                                       account_id=account, subject="s", scopes=("openid",),
                                       session_id="ses", level=2, method="password",
                                       auth_time=now, issued_at=now,
                                       expires_at=now + timedelta(hours=8)))
    assert await MongoClientGrants(db).revoke("acc", "c1", now) == 2
    ended = {name for name in ("a0", "a1", "a2") if (t := await access.get(name)) and t.revoked_at}
    assert ended == {"a0"}
    ended = {name for name in ("r0", "r1", "r2") if (r := await refresh.get(name)) and r.revoked_at}
    assert ended == {"r0"}
