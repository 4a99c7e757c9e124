"""Cryptographic helpers every service uses the same way (no business rules here).

Passwords: argon2id (argon2-cffi), hashed and verified in a worker thread so the event loop
never blocks. Tokens: 256-bit random, stored only as a keyed hash (HMAC-SHA256).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared import tracing

# RFC 9106's second recommended option (t=3, m=64 MiB, p=4), argon2-cffi's default profile.
_hasher = PasswordHasher()
# Verified against when the account does not exist, so an unknown user costs the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
# Each hash takes 64 MiB: a pool of its own, one thread per core, bounds both the memory and
# the CPU that password work can take (asyncio's default pool would allow up to 32 at once).
_HASH_POOL = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2),
                                thread_name_prefix="argon2")


async def hash_password(password: str) -> str:
    # The span covers the wait for a thread of the pool too: a burst shows as long spans
    # with a queue (dvcid.count) at their start.
    with tracing.span("argon2.hash", attributes={"dvcid.count": hash_queue_length()}):
        return await asyncio.get_running_loop().run_in_executor(_HASH_POOL, _hasher.hash,
                                                                password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    with tracing.span("argon2.verify", attributes={"dvcid.count": hash_queue_length()}):
        return await asyncio.get_running_loop().run_in_executor(
            _HASH_POOL, _verify, password_hash or _DUMMY_HASH, password,
            password_hash is not None)


def hash_queue_length() -> int:
    """Password hashes and checks waiting for a thread of the pool (a metric: the pool is
    the bottleneck of login and registration bursts)."""
    return _HASH_POOL._work_queue.qsize()


def _verify(password_hash: str, password: str, real: bool) -> bool:
    try:
        return _hasher.verify(password_hash, password) and real
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """An opaque 256-bit token, URL-safe."""
    return secrets.token_urlsafe(32)


def keyed_hash(secret: str, value: str) -> str:
    """HMAC-SHA256, hex: how tokens and codes are stored and looked up."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
