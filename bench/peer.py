"""The bench's peer: a plain fastapi-users 15 monolith (SQLite through aiosqlite, one uvicorn
worker), the usual way a FastAPI team would build accounts. Bench-only (the ``bench`` extra);
nothing in dvcid imports it.

Sessions are server-side, like dvcid's (a token row per login, looked up on every call, so a
logout takes effect at once): fastapi-users' ``DatabaseStrategy``, not stateless JWTs. Passwords
use argon2id with the exact parameters of ``shared.crypto`` (t=3, m=64 MiB, p=4).

Run: ``python -m bench.peer --port 8300 --db /tmp/peer.sqlite``.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependencies defined in
# ``build`` (closures) as objects, not as names it cannot resolve.
import argparse
import uuid
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport
from fastapi_users.authentication.strategy.db import AccessTokenDatabase, DatabaseStrategy
from fastapi_users.password import PasswordHelper
from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from fastapi_users_db_sqlalchemy.access_token import (
    SQLAlchemyAccessTokenDatabase,
    SQLAlchemyBaseAccessTokenTableUUID,
)
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from shared import crypto

SESSION_SECONDS = 12 * 3600
SECRET = uuid.uuid4().hex  # reset/verify tokens only; sessions are database rows


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class AccessToken(SQLAlchemyBaseAccessTokenTableUUID, Base):
    pass


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


def same_argon2() -> PasswordHelper:
    """argon2id with dvcid's parameters, read from its hasher (not copied)."""
    p = crypto._hasher
    return PasswordHelper(PasswordHash((Argon2Hasher(time_cost=p.time_cost, memory_cost=p.memory_cost,
                                                     parallelism=p.parallelism, hash_len=p.hash_len,
                                                     salt_len=p.salt_len),)))


def build(db_path: str) -> FastAPI:
    # SQLite as a small team would set it up: WAL (readers never wait for the writer) and a
    # writer that waits its turn instead of failing "database is locked" at once.
    engine = create_async_engine(f"sqlite+aiosqlite:///{db_path}", connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def wal(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    helper = same_argon2()

    async def db_session() -> AsyncGenerator[AsyncSession, None]:
        async with sessions() as session:
            yield session

    async def user_db(session: Annotated[AsyncSession, Depends(db_session)]) -> AsyncGenerator[Any, None]:
        yield SQLAlchemyUserDatabase(session, User)

    async def token_db(session: Annotated[AsyncSession, Depends(db_session)]) -> AsyncGenerator[Any, None]:
        yield SQLAlchemyAccessTokenDatabase(session, AccessToken)

    class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
        reset_password_token_secret = SECRET
        verification_token_secret = SECRET

    async def user_manager(db: Annotated[Any, Depends(user_db)]) -> AsyncGenerator[UserManager, None]:
        yield UserManager(db, helper)

    def strategy(tokens: Annotated[AccessTokenDatabase[AccessToken], Depends(token_db)]) -> DatabaseStrategy:
        return DatabaseStrategy(tokens, lifetime_seconds=SESSION_SECONDS)

    backend = AuthenticationBackend(name="db", transport=BearerTransport(tokenUrl="auth/login"),
                                    get_strategy=strategy)
    users = FastAPIUsers[User, uuid.UUID](user_manager, [backend])

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncGenerator[None, None]:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(users.get_auth_router(backend), prefix="/auth")
    app.include_router(users.get_register_router(UserRead, UserCreate), prefix="/auth")
    app.include_router(users.get_users_router(UserRead, schemas.BaseUserUpdate), prefix="/users")
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    uvicorn.run(build(args.db), host="127.0.0.1", port=args.port, workers=1,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
