"""The signing keys in MongoDB: EC P-256 keys made with joserfc, the private JWK sealed with
AES-GCM under a key derived (HKDF-SHA256) from ``DVCID_OIDC_KEYS_SECRET``, the kid (its RFC 7638
thumbprint) as associated data. The public JWK is stored beside it in clear."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.jwk import ECKey
from pymongo.asynchronous.database import AsyncDatabase

from services.oidc.adapters.mongo import SIGNING_KEYS

Document = dict[str, Any]
ALG = "ES256"


class Sealer:
    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"dvcid-oidc-signing-keys-v1").derive(secret.encode())
        self._aead = AESGCM(key)

    def seal(self, kid: str, plain: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plain, kid.encode())

    def open(self, kid: str, sealed: bytes) -> bytes:
        return self._aead.decrypt(sealed[:12], sealed[12:], kid.encode())


class MongoSigningKeys:
    def __init__(self, db: AsyncDatabase[Document], sealer: Sealer,
                 retired_publish: timedelta) -> None:
        self._c = db[SIGNING_KEYS]
        self._sealer = sealer
        self._retired_publish = retired_publish
        self._opened: dict[str, ECKey] = {}  # kid -> private key, opened once per process

    async def ensure(self, now: datetime) -> None:
        if await self._c.find_one({"active": True}) is None:
            await self._add(now)

    async def current(self, now: datetime) -> tuple[str, Any]:
        # The newest active key (two instances starting at once may each make one: both are
        # published, the newest signs).
        doc = await self._newest_active()
        if doc is None:
            await self._add(now)
            doc = await self._newest_active()
            assert doc is not None
        kid: str = doc["_id"]
        key = self._opened.get(kid)
        if key is None:
            private = json.loads(self._sealer.open(kid, doc["sealed"]))
            key = ECKey.import_key(private)
            self._opened[kid] = key
        return kid, key

    async def published(self, now: datetime) -> list[dict[str, Any]]:
        docs = [doc async for doc in self._c.find(
            {"$or": [{"active": True}, {"publish_until": {"$gt": now}}]})]
        return [dict(doc["public_jwk"]) for doc in sorted(docs, key=_newest_first)]

    async def _newest_active(self) -> Document | None:
        docs = [doc async for doc in self._c.find({"active": True})]
        return min(docs, key=_newest_first, default=None)

    async def rotate(self, now: datetime) -> str:
        kid = await self._add(now)
        await self._c.update_many(
            {"active": True, "_id": {"$ne": kid}},
            {"$set": {"active": False, "retired_at": now,
                      "publish_until": now + self._retired_publish}})
        return kid

    async def _add(self, now: datetime) -> str:
        key = ECKey.generate_key("P-256", private=True)
        kid = key.thumbprint()
        public = key.as_dict(private=False) | {"kid": kid, "use": "sig", "alg": ALG}
        sealed = self._sealer.seal(kid, json.dumps(key.as_dict(private=True)).encode())
        await self._c.insert_one({"_id": kid, "alg": ALG, "created_at": now, "active": True,
                                  "seq": time.time_ns(), "public_jwk": public, "sealed": sealed})
        return kid


def _newest_first(doc: Document) -> tuple[float, int]:
    # The newest first; of two made in the same instant, the one written last.
    return (-doc["created_at"].timestamp(), -doc.get("seq", 0))
